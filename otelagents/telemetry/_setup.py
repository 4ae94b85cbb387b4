"""``setup()``: telemetry in one call, for applications that do not configure OpenTelemetry themselves.

    from otelagents.telemetry import setup
    handle = setup(service_name="my-agent", otlp_endpoint="http://127.0.0.1:4317")
    ...                      # runs are traced; metrics on http://127.0.0.1:9464/metrics
    handle.shutdown()        # also runs at interpreter exit

What it builds:

* a ``TracerProvider`` (resource from ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES`` plus
  ``service_name``; sampler from ``OTEL_TRACES_SAMPLER``) with a ``BatchSpanProcessor`` exporting over OTLP
  when an endpoint is configured, and to the console with ``console=True``. It is installed as the global
  provider, unless the application already set one: then that one is used and left alone;
* a ``MetricsEngine`` served on ``/metrics`` (``prometheus=True``; host and port from the arguments, else
  ``OTEL_EXPORTER_PROMETHEUS_HOST`` / ``_PORT``, else 127.0.0.1:9464) and pushed over OTLP when an endpoint
  is configured (every ``metrics_interval_s``, else ``OTEL_METRIC_EXPORT_INTERVAL`` ms, else 60 s). When the
  application already set an SDK ``MeterProvider``, its readers collect the same engine;
* a ``Telemetry`` observer over both, registered for every run (``instrument=True``).

OTLP is configured only when ``otlp_endpoint`` is given or ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the
signal-specific ``OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT``) is set. The protocol is ``otlp_protocol``,
else ``OTEL_EXPORTER_OTLP_{TRACES,METRICS}_PROTOCOL``, else ``OTEL_EXPORTER_OTLP_PROTOCOL``, else ``grpc``;
``http/protobuf`` appends ``/v1/traces`` and ``/v1/metrics`` to the base endpoint. Headers, timeout and
compression come from the usual ``OTEL_EXPORTER_OTLP_*`` variables. ``OTEL_SDK_DISABLED=true`` makes
``setup()`` configure nothing and return a no-op handle.

Shutdown is bounded (a collector that hangs costs at most ``timeout_s``) and idempotent, and is registered
with ``atexit`` so that short scripts do not lose their last spans.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import metrics as otel_metrics
from opentelemetry import trace
from opentelemetry.sdk.metrics.export import MetricExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from otelagents.telemetry import _fork
from otelagents.telemetry._content import DEFAULT_MAX_LENGTH
from otelagents.telemetry._export import CountingBatchSpanProcessor, LossCounter, SizeBoundedSpanExporter
from otelagents.telemetry._metrics import MetricsEngine, MetricsServer, OTLPMetricsBridge
from otelagents.telemetry._metrics.multiprocess import SnapshotWriter
from otelagents.telemetry._metrics.sdk_bridge import engine_for
from otelagents.telemetry._observer import Telemetry, install, uninstrument
from otelagents.telemetry._otlp_config import (
    env_value,
    metric_exporter,
    resolve_endpoint,
    resolve_protocol,
    span_exporter,
)

__all__ = ["TelemetryHandle", "setup"]

logger = logging.getLogger("otelagents.telemetry")

_DEFAULT_PROMETHEUS_HOST = "127.0.0.1"
_DEFAULT_PROMETHEUS_PORT = 9464
_DEFAULT_INTERVAL_S = 60.0


class TelemetryHandle:
    """What ``setup()`` built. Every attribute is None in the no-op handle (``OTEL_SDK_DISABLED=true``)."""

    def __init__(self, telemetry: Telemetry | None = None, tracer_provider: Any = None,
                 engine: MetricsEngine | None = None, metrics_server: MetricsServer | None = None,
                 bridges: tuple[OTLPMetricsBridge, ...] = (), owns_tracer_provider: bool = False,
                 span_losses: LossCounter | None = None) -> None:
        self.telemetry = telemetry
        self.tracer_provider = tracer_provider
        self.engine = engine
        self.metrics_server = metrics_server
        self.metrics_exporters = bridges
        self.owns_tracer_provider = owns_tracer_provider
        self.span_losses = span_losses
        self.fork_recipe: _fork.ForkRecipe | None = None
        self.snapshot_writer: SnapshotWriter | None = None  # with metrics_dir (several processes)
        self.forked = False  # True in a child process forked after setup() (see _fork)
        self._lock = threading.Lock()
        self._shut_down = False
        atexit.register(self._at_exit)

    @property
    def enabled(self) -> bool:
        return self.telemetry is not None

    @property
    def is_shut_down(self) -> bool:
        return self._shut_down

    def force_flush(self, timeout_s: float = 5.0) -> bool:
        """Export pending spans and a metrics snapshot now, within ``timeout_s`` in total.

        Returns True only when everything was exported in time and nothing was dropped or refused since
        the previous flush (a full span queue, a span over the export size limit, a failed export).
        """
        deadline = time.monotonic() + timeout_s
        ok = True
        provider = self.tracer_provider
        if provider is not None and hasattr(provider, "force_flush"):
            ok = _bounded(lambda: provider.force_flush(_millis(deadline)), _left(deadline), "force_flush")
        for bridge in self.metrics_exporters:
            ok = bridge.export_now(_left(deadline)) and ok
        return self._nothing_lost() and ok

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Stop observing runs, flush and close everything ``setup()`` started, within ``timeout_s`` in total.

        Returns whether everything was exported and closed in time, with nothing dropped or refused.
        Idempotent: a second call returns True at once.
        """
        with self._lock:
            if self._shut_down:
                return True
            self._shut_down = True
        atexit.unregister(self._at_exit)
        deadline = time.monotonic() + timeout_s
        if self.telemetry is not None:
            uninstrument(self.telemetry)
        ok = True
        provider = self.tracer_provider
        if provider is not None:
            if self.owns_tracer_provider:
                ok = _bounded(provider.shutdown, _left(deadline), "tracer provider shutdown")
            else:
                ok = _bounded(lambda: provider.force_flush(_millis(deadline)), _left(deadline), "force_flush")
            if not ok:
                logger.warning("otelagents telemetry: spans were not exported within %.1f s at shutdown; "
                               "is the OTLP endpoint reachable?", timeout_s)
        for bridge in self.metrics_exporters:
            ok = bridge.shutdown(_left(deadline)) and ok
        if self.snapshot_writer is not None:
            ok = self.snapshot_writer.stop(min(_left(deadline), 1.0)) and ok
        if self.metrics_server is not None:
            self.metrics_server.close()
        global _active
        with _active_lock:
            if _active is self:
                _active = None
        return self._nothing_lost() and ok

    def _nothing_lost(self) -> bool:
        lost = self.span_losses.take() if self.span_losses is not None else 0
        if lost:
            logger.warning("otelagents telemetry: %d span(s) were dropped or refused since the last flush", lost)
        return lost == 0

    def _at_exit(self) -> None:
        try:
            self.shutdown()
        except Exception:  # never raise at interpreter exit
            logger.exception("otelagents telemetry shutdown at exit failed")

    def __repr__(self) -> str:
        server = self.metrics_server.url if self.metrics_server is not None else None
        return (f"TelemetryHandle(enabled={self.enabled}, metrics={server!r}, "
                f"otlp_metrics={len(self.metrics_exporters)}, shut_down={self._shut_down})")


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.0)


def _millis(deadline: float) -> int:
    return max(int(_left(deadline) * 1000), 1)  # never 0: some exporters read 0 as "their default"


def _bounded(target: Callable[[], object], timeout_s: float, what: str) -> bool:
    """Run ``target`` on a daemon thread; give up waiting after ``timeout_s``. Returns whether it finished
    in time, without raising and without returning False (``force_flush`` reports failure that way)."""
    failed: list[BaseException] = []
    returned: list[object] = []
    if timeout_s <= 0:
        logger.warning("otelagents telemetry: no time left for %s", what)
        return False

    def run() -> None:
        try:
            returned.append(target())
        except Exception as exc:  # noqa: BLE001 - reported below; shutdown must never raise
            failed.append(exc)

    thread = threading.Thread(target=run, name=f"otelagents-{what}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if failed:
        logger.warning("otelagents telemetry: %s failed: %r", what, failed[0])
    return not thread.is_alive() and not failed and returned[0] is not False


_active_lock = threading.Lock()
_active: TelemetryHandle | None = None


def _interval(given: float | None) -> float:
    if given is not None:
        if not given > 0:
            raise ValueError(f"metrics_interval_s must be a positive number of seconds, not {given!r}")
        return float(given)
    raw = env_value("OTEL_METRIC_EXPORT_INTERVAL")
    if raw is None:
        return _DEFAULT_INTERVAL_S
    try:
        millis = float(raw)
    except ValueError as exc:
        raise ValueError(f"OTEL_METRIC_EXPORT_INTERVAL={raw!r} is not a number of milliseconds") from exc
    if millis <= 0:
        raise ValueError(f"OTEL_METRIC_EXPORT_INTERVAL={raw!r} must be a positive number of milliseconds")
    return millis / 1000.0


def _prometheus_address(host: str | None, port: int | range | None) -> tuple[str, int | range]:
    host = host or env_value("OTEL_EXPORTER_PROMETHEUS_HOST") or _DEFAULT_PROMETHEUS_HOST
    if port is None:
        raw = env_value("OTEL_EXPORTER_PROMETHEUS_PORT")
        try:
            port = int(raw) if raw is not None else _DEFAULT_PROMETHEUS_PORT
        except ValueError as exc:
            raise ValueError(f"OTEL_EXPORTER_PROMETHEUS_PORT={raw!r} is not a port number") from exc
    if isinstance(port, range):
        if not port or port.start < 1 or port[-1] > 65535:
            raise ValueError(f"a /metrics port range must be non-empty, within 1-65535, not {port!r}")
    elif not 0 <= port <= 65535:
        raise ValueError(f"the /metrics port must be between 0 and 65535, not {port}")
    return host, port


def setup(
    *,
    service_name: str | None = None,
    otlp_endpoint: str | None = None,
    otlp_protocol: str | None = None,
    prometheus: bool = True,
    prometheus_host: str | None = None,
    prometheus_port: int | range | None = None,
    console: bool = False,
    metrics_interval_s: float | None = None,
    instrument: bool = True,
    metrics_dir: str | os.PathLike[str] | None = None,
) -> TelemetryHandle:
    """Configure tracing and metrics for otelagents and return a handle (see the module docstring).

    Calling it again while the first handle is live returns that handle. A taken ``/metrics`` port raises
    ``MetricsPortInUseError`` (pass ``prometheus_port=``, ``0`` for any free port, or ``prometheus=False``).
    ``prometheus_port=range(9464, 9468)`` serves on the first free port of the range: with several worker
    processes (``uvicorn --workers 4``, gunicorn), each worker gets its own port for Prometheus to scrape.
    In a worker forked after ``setup()`` (gunicorn ``--preload``), calling it again serves that worker's
    metrics and returns the inherited handle (see ``_fork``).

    ``metrics_dir`` (else ``OTELAGENTS_METRICS_DIR``): one ``/metrics`` for several worker processes. Each
    process writes its metrics to the directory; the one that holds the port (the gunicorn master, or the
    first uvicorn worker) serves them merged (see ``_metrics.multiprocess``).
    """
    global _active
    with _active_lock:
        if _active is not None and not _active.is_shut_down and _active.forked:
            return _fork.adopt(_active, prometheus, *_prometheus_address(prometheus_host, prometheus_port))
        if _active is not None and not _active.is_shut_down:
            logger.warning("otelagents.telemetry.setup() was already called; returning the existing handle "
                           "(call handle.shutdown() first to configure again)")
            return _active
        if (env_value("OTEL_SDK_DISABLED") or "").lower() == "true":
            return TelemetryHandle()
        trace_protocol = resolve_protocol("traces", otlp_protocol)
        metric_protocol = resolve_protocol("metrics", otlp_protocol)
        trace_endpoint = resolve_endpoint("traces", otlp_endpoint, trace_protocol)
        metric_endpoint = resolve_endpoint("metrics", otlp_endpoint, metric_protocol)
        interval_s = _interval(metrics_interval_s)
        # An application's own SDK MeterProvider also collects what /metrics serves (one engine per provider).
        engine = engine_for(otel_metrics.get_meter_provider()) or MetricsEngine()
        directory = metrics_dir or env_value("OTELAGENTS_METRICS_DIR")
        server = None
        if prometheus:  # first: a taken port fails before anything else
            server = _fork.serve(engine, *_prometheus_address(prometheus_host, prometheus_port), directory)
        try:
            losses = LossCounter()
            provider, owned, span_exporters = _tracer_provider(service_name, trace_protocol, trace_endpoint,
                                                               console, losses)
            resource = getattr(provider, "resource", None)
            if not isinstance(resource, Resource) or service_name is not None:
                resource = _resource(service_name)
            resource = _fork.with_instance_id(resource)  # each process's metric series stay apart
            if owned:  # and our spans name the same instance as our metrics
                _fork.tag_spans(provider, resource)
            makers = _metric_exporter_makers(metric_protocol, metric_endpoint, console)
            bridges = [OTLPMetricsBridge(engine, make(), interval_s=interval_s, resource=resource)
                       for make in makers]
        except BaseException:
            if server is not None:
                server.close()
            raise
        for bridge in bridges:
            bridge.start()
        telemetry = Telemetry(tracer_provider=provider, metrics=engine)
        if instrument:
            install(telemetry)
        _active = TelemetryHandle(telemetry, provider, engine, server, tuple(bridges), owned,
                                  losses if owned else None)
        _active.fork_recipe = _fork.ForkRecipe(resource, interval_s, makers, span_exporters,
                                               str(directory) if directory else None)
        if directory:
            _active.snapshot_writer = SnapshotWriter(engine, directory).start()
        _fork.register()
        return _active


def _metric_exporter_makers(protocol: str, endpoint: str | None,
                            console: bool) -> tuple[Callable[[], MetricExporter], ...]:
    makers: list[Callable[[], MetricExporter]] = []
    if endpoint is not None:
        makers.append(lambda: metric_exporter(protocol, endpoint))
    if console:
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        makers.append(ConsoleMetricExporter)
    return tuple(makers)


def _resource(service_name: str | None) -> Resource:
    return Resource.create({SERVICE_NAME: service_name} if service_name else {})


def _span_limits() -> SpanLimits:
    """Every attribute value (metadata, descriptions, event attributes too, not only captured content) is
    cut to the content limit, unless ``OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`` says otherwise."""
    if env_value("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT") is not None:
        return SpanLimits()
    return SpanLimits(max_attribute_length=DEFAULT_MAX_LENGTH)


def _tracer_provider(service_name: str | None, protocol: str, endpoint: str | None, console: bool,
                     losses: LossCounter) -> tuple[Any, bool, tuple[SizeBoundedSpanExporter, ...]]:
    current = trace.get_tracer_provider()
    if not isinstance(current, trace.ProxyTracerProvider):
        logger.info("otelagents.telemetry.setup(): using the tracer provider the application already set")
        return current, False, ()
    # Our own atexit hook shuts it down, bounded; the SDK's unbounded one could hang on a dead collector.
    provider = TracerProvider(resource=_resource(service_name), shutdown_on_exit=False, span_limits=_span_limits())
    exporters: tuple[SizeBoundedSpanExporter, ...] = ()
    if endpoint is not None:
        # Split so no request exceeds the OTLP message limit; count what is lost for force_flush(). The
        # factory makes a new exporter in a forked child (see _fork).
        exporter = SizeBoundedSpanExporter(span_exporter(protocol, endpoint), losses=losses,
                                           factory=lambda: span_exporter(protocol, endpoint))
        provider.add_span_processor(CountingBatchSpanProcessor(exporter, losses))
        exporters = (exporter,)
    if console:
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider, True, exporters
