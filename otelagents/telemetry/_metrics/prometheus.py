"""Prometheus exposition of a :class:`MetricsEngine`, with exemplars.

Names and labels come from the spec table: family names from ``MetricSpec.prometheus_name`` (``_seconds``
for seconds, ``_total`` on counters), label names from ``semconv.prometheus_label``, HELP from the spec
description. Histograms expose ``_bucket``/``_sum``/``_count``.

Bucket ``le`` strings are exactly what ``prometheus_client`` prints for the float bounds (its
``floatToGoString``): ``0.0005`` -> ``le="0.0005"``, ``1`` and ``1.0`` -> ``le="1.0"``, ``5.0`` -> ``le="5.0"``,
``1048576`` -> ``le="1.048576e+06"``, and ``le="+Inf"``. Prometheus stores the string verbatim, so
dashboards and alert rules must use these strings (see :func:`le_label`).

Formats: the classic text format (0.0.4) by default, which ``promtool check metrics`` lints clean; when the
scraper asks for ``application/openmetrics-text`` (Prometheus does), histogram buckets and counters carry
exemplars ``# {trace_id="<32 hex>",span_id="<16 hex>"} value timestamp``. ``prometheus_client``'s exposition
code does the content negotiation.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Iterator, Mapping
from http.server import ThreadingHTTPServer
from socket import AF_INET6
from typing import Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import MetricsHandler
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.samples import Exemplar as PromExemplar
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString
from typing_extensions import Self

from otelagents.telemetry._metrics.engine import (
    AttrValue,
    ExemplarSample,
    HistogramPoint,
    MetricsEngine,
    MetricSnapshot,
    NumberPoint,
)
from otelagents.telemetry._metrics.semconv_opt_in import apply_opt_in
from otelagents.telemetry.semconv import prometheus_label

__all__ = ["MetricsPortInUseError", "MetricsServer", "PrometheusCollector", "le_label"]

_UNITS = ("seconds", "bytes", "milliseconds")


def le_label(bound: float) -> str:
    """The ``le`` label value this exporter writes for a bucket bound (e.g. ``0.5`` -> ``"0.5"``)."""
    return str(floatToGoString(bound))  # type: ignore[no-untyped-call]


def _label_value(value: AttrValue) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _labels(attributes: Mapping[str, AttrValue]) -> dict[str, str]:
    return {prometheus_label(k): _label_value(v) for k, v in attributes.items()}


def _exemplar(sample: ExemplarSample | None) -> PromExemplar | None:
    if sample is None:
        return None
    labels = {"trace_id": f"{sample.trace_id:032x}", "span_id": f"{sample.span_id:016x}"}
    return PromExemplar(labels, sample.value, sample.time_unix_nano / 1e9)


def _unit(name: str) -> str:
    return next((u for u in _UNITS if name.endswith("_" + u)), "")


def _histogram(snap: MetricSnapshot) -> Metric:
    spec = snap.spec
    family = HistogramMetricFamily(spec.prometheus_name, spec.description, unit=_unit(spec.prometheus_name))
    bucket, count, total = family.name + "_bucket", family.name + "_count", family.name + "_sum"
    les = [le_label(b) for b in spec.buckets] + ["+Inf"]
    for point in snap.points:
        assert isinstance(point, HistogramPoint)
        labels = _labels(point.attributes)
        cumulative = 0
        for le, n, ex in zip(les, point.bucket_counts, point.exemplars, strict=True):
            cumulative += n
            family.samples.append(Sample(bucket, {**labels, "le": le}, cumulative, None, _exemplar(ex)))
        family.samples.append(Sample(count, labels, point.count))
        family.samples.append(Sample(total, labels, point.sum))
    return family


def _counter(snap: MetricSnapshot) -> Metric:
    spec = snap.spec
    family = CounterMetricFamily(spec.prometheus_name, spec.description)  # strips "_total" from the family
    name = family.name + "_total"
    for point in snap.points:
        assert isinstance(point, NumberPoint)
        family.samples.append(Sample(name, _labels(point.attributes), point.value, None,
                                     _exemplar(point.exemplar)))
    return family


def _gauge(snap: MetricSnapshot) -> Metric:
    spec = snap.spec
    family = GaugeMetricFamily(spec.prometheus_name, spec.description, unit=_unit(spec.prometheus_name))
    for point in snap.points:
        assert isinstance(point, NumberPoint)
        family.samples.append(Sample(family.name, _labels(point.attributes), point.value))
    return family


_BUILDERS = {"histogram": _histogram, "counter": _counter, "gauge": _gauge}


class SnapshotSource(Protocol):
    """Anything with the engine's ``collect()``: a ``MetricsEngine``, or the merge of several processes'."""

    def collect(self) -> list[MetricSnapshot]: ...


class PrometheusCollector:
    """A ``prometheus_client`` custom collector that renders an engine snapshot at each scrape.

    Register it in your own ``CollectorRegistry`` (``registry.register(PrometheusCollector(engine))``).
    Metrics with no series yet are left out.
    """

    def __init__(self, engine: MetricsEngine | SnapshotSource) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        for snap in apply_opt_in(self.engine.collect()):  # the newest GenAI names, when opted in
            if snap.points:
                yield _BUILDERS[snap.kind](snap)


class MetricsPortInUseError(OSError):
    """The ``/metrics`` port is already taken by another process or server."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            errno.EADDRINUSE,
            f"cannot serve /metrics on {host}:{port}: the port is already in use. Pass another port "
            f"(port=0 picks a free one), or set OTEL_EXPORTER_PROMETHEUS_PORT to a free port.",
        )
        self.host = host
        self.port = port


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a slow scraper never blocks close()


class _V6Server(_Server):
    address_family = AF_INET6


class MetricsServer:
    """Serves ``/metrics`` for one engine from its own ``CollectorRegistry`` (never the global one).

    >>> server = MetricsServer(engine, port=0).start()   # doctest: +SKIP
    >>> server.url                                       # doctest: +SKIP
    'http://127.0.0.1:43121/metrics'
    """

    def __init__(self, engine: MetricsEngine | SnapshotSource, host: str = "127.0.0.1", port: int = 9464) -> None:
        self.engine = engine
        self.host = host
        self.port = port
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(PrometheusCollector(engine))
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def start(self) -> Self:
        with self._lock:
            if self._server is not None:
                return self
            server_cls = _V6Server if ":" in self.host else _Server
            handler = MetricsHandler.factory(self.registry)
            try:
                server = server_cls((self.host, self.port), handler)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise MetricsPortInUseError(self.host, self.port) from exc
                raise OSError(exc.errno, f"cannot serve /metrics on {self.host}:{self.port}: {exc.strerror}. "
                              "Check the host address, or pass another host/port.") from exc
            self.port = server.server_address[1]
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                      name=f"otelagents-metrics-{self.port}", daemon=True)
            thread.start()
            self._server, self._thread = server, thread
        return self

    def close(self) -> None:
        """Stop serving. Bounded (about a second at most) and idempotent."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None or thread is None:
            return
        server.shutdown()  # returns once serve_forever's poll loop notices (poll_interval 0.1 s)
        server.server_close()
        thread.join(timeout=1.0)

    def forget_after_fork(self) -> None:
        """In a forked child: let go of the parent's server without waiting for its loop (which runs only in
        the parent). Closes the child's copy of the listening socket; the parent keeps serving."""
        self._lock = threading.Lock()
        server, self._server, self._thread = self._server, None, None
        if server is not None:
            server.socket.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
