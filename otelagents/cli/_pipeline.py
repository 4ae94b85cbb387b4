"""The demo's telemetry pipeline: what an application would build, plus an in-memory view for the report.

* a ``MetricsEngine`` served on ``/metrics`` (and pushed over OTLP when asked);
* an SDK ``TracerProvider`` of the demo's own (never the global one) whose spans go to an in-memory
  exporter, which the report reads, and to OTLP when asked;
* a ``Telemetry`` observer over both, passed to each run in ``RunConfig(observers=[...])``.

OTLP endpoint and protocol resolve as ``otelagents.telemetry.setup()`` resolves them (argument, then the
``OTEL_EXPORTER_OTLP_*`` variables).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otelagents.telemetry._metrics import (
    MetricsEngine,
    MetricSnapshot,
    MetricsPortInUseError,
    MetricsServer,
    OTLPMetricsBridge,
)
from otelagents.telemetry._observer import Telemetry
from otelagents.telemetry._otlp_config import metric_exporter, resolve_endpoint, resolve_protocol, span_exporter

from ._errors import CLIError

DEFAULT_SERVICE_NAME = "otelagents-demo"
OTLP_METRICS_INTERVAL_S = 5.0
_SHUTDOWN_S = 5.0
_FLUSH_S = 3.0
_GIVE_UP_S = 0.5


@dataclass(frozen=True)
class OTLPTarget:
    protocol: str
    traces_endpoint: str
    metrics_endpoint: str


def resolve_otlp(endpoint: str | None, protocol: str | None) -> OTLPTarget | None:
    """Where to send OTLP, from the flags or the ``OTEL_EXPORTER_OTLP_*`` variables; None for nowhere."""
    try:
        trace_protocol = resolve_protocol("traces", protocol)
        metric_protocol = resolve_protocol("metrics", protocol)
    except ValueError as exc:
        raise CLIError(f"{exc}.", usage=True) from exc
    traces = resolve_endpoint("traces", endpoint, trace_protocol)
    metrics = resolve_endpoint("metrics", endpoint, metric_protocol)
    if traces is None or metrics is None:
        return None
    return OTLPTarget(trace_protocol, traces, metrics)


def _bounded(target: Callable[[], object], timeout_s: float) -> bool:
    """Run ``target`` on a daemon thread; stop waiting after ``timeout_s``. True when it finished in time
    and returned neither False nor raised."""
    results: list[object] = []

    def call() -> None:
        try:
            results.append(target())
        except Exception:  # noqa: BLE001 - a failed export is reported by the caller, in one line
            results.append(False)

    thread = threading.Thread(target=call, name="otelagents-demo-export", daemon=True)
    thread.start()
    thread.join(max(timeout_s, 0.0))
    return bool(results) and results[0] is not False


class Pipeline:
    """Everything the demo's telemetry needs; ``close()`` flushes and stops it, bounded in time."""

    def __init__(self, *, metrics_host: str, metrics_port: int, otlp: OTLPTarget | None,
                 service_name: str = DEFAULT_SERVICE_NAME) -> None:
        self.engine = MetricsEngine()
        self.spans = InMemorySpanExporter()
        self.otlp = otlp
        self.server = MetricsServer(self.engine, metrics_host, metrics_port)
        try:
            self.server.start()
        except MetricsPortInUseError as exc:
            raise CLIError(
                f"cannot serve /metrics on {metrics_host}:{metrics_port}: the port is already in use "
                f"(another otelagents demo?). Pass --metrics-port with a free port, or --metrics-port 0 to "
                f"pick one."
            ) from exc
        except OSError as exc:
            raise CLIError(f"cannot serve /metrics on {metrics_host}:{metrics_port}: {exc.strerror or exc}. "
                           "Pass another --metrics-port.") from exc
        attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
        self.resource = Resource.create(attributes)
        self.provider = TracerProvider(resource=self.resource, shutdown_on_exit=False)
        self.provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.bridge: OTLPMetricsBridge | None = None
        if otlp is not None:
            self.provider.add_span_processor(BatchSpanProcessor(span_exporter(otlp.protocol,
                                                                               otlp.traces_endpoint)))
            exporter = metric_exporter(otlp.protocol, otlp.metrics_endpoint)
            self.bridge = OTLPMetricsBridge(self.engine, exporter, interval_s=OTLP_METRICS_INTERVAL_S,
                                            resource=self.resource).start()
        self.telemetry = Telemetry(tracer_provider=self.provider, metrics=self.engine)
        self._closed = False
        self._otlp_failed = False

    @property
    def metrics_url(self) -> str:
        return self.server.url

    def snapshot(self) -> list[MetricSnapshot]:
        return self.engine.collect()

    def finished_spans(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def flush_otlp(self, timeout_s: float = _FLUSH_S) -> bool:
        """Push pending spans and a metrics snapshot to the collector now, within ``timeout_s`` in all.
        Whether both made it; after a failure, ``close()`` gives up on the collector at once."""
        if self.otlp is None:
            return True
        deadline = time.monotonic() + timeout_s
        ok = _bounded(lambda: self.provider.force_flush(int(timeout_s * 1000)), timeout_s)
        bridge = self.bridge
        if ok and bridge is not None:
            remaining = max(deadline - time.monotonic(), 0.0)
            ok = _bounded(lambda: bridge.export_now(remaining), remaining)
        self._otlp_failed = not ok
        return ok

    def close(self) -> None:
        """Stop serving and exporting, bounded: a collector that is down or hangs costs a few seconds at most."""
        if self._closed:
            return
        self._closed = True
        self.server.close()
        budget = _GIVE_UP_S if self._otlp_failed else _SHUTDOWN_S
        deadline = time.monotonic() + budget
        _bounded(self.provider.shutdown, budget)
        if self.bridge is not None:
            self.bridge.shutdown(max(deadline - time.monotonic(), 0.1))
