"""Push a :class:`MetricsEngine` over OTLP through an OpenTelemetry SDK ``MetricExporter``.

The engine's cumulative snapshots are converted to the SDK's ``MetricsData`` (cumulative temporality,
explicit-bucket histograms with their exemplars) and handed to any SDK exporter: the OTLP gRPC or HTTP
metric exporter in production, anything else in tests. The exporter's own retry and timeout settings apply
(``OTLPMetricExporter(timeout=...)``).

Failure policy: telemetry never breaks the application. An exporter that returns failure or raises is
logged and the export thread carries on; :meth:`OTLPMetricsBridge.shutdown` is bounded even when the
endpoint hangs, because the final export and the exporter's shutdown run on helper threads that are
abandoned (as daemons) after the timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping

from opentelemetry.sdk.metrics._internal.exemplar import Exemplar as SDKExemplar
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from otelagents.telemetry._metrics.engine import (
    ExemplarSample,
    HistogramPoint,
    MetricsEngine,
    MetricSnapshot,
    NumberPoint,
)
from otelagents.telemetry._metrics.otlp_split import split_metrics_data
from otelagents.telemetry._metrics.semconv_opt_in import apply_opt_in

__all__ = ["OTLPMetricsBridge", "to_metrics_data"]

logger = logging.getLogger(__name__)
_CUMULATIVE = AggregationTemporality.CUMULATIVE


def _exemplar(sample: ExemplarSample) -> SDKExemplar:
    return SDKExemplar({}, sample.value, sample.time_unix_nano, span_id=sample.span_id,
                       trace_id=sample.trace_id)


def _histogram(snap: MetricSnapshot, temporality: AggregationTemporality) -> Histogram | None:
    points = []
    for p in snap.points:
        if not isinstance(p, HistogramPoint) or p.count == 0:  # OTLP points exist once measured
            continue
        points.append(HistogramDataPoint(
            attributes=dict(p.attributes), start_time_unix_nano=snap.start_time_unix_nano,
            time_unix_nano=snap.time_unix_nano, count=p.count, sum=p.sum,
            bucket_counts=list(p.bucket_counts), explicit_bounds=[float(b) for b in p.bounds],
            min=p.min, max=p.max, exemplars=[_exemplar(e) for e in p.exemplars if e is not None],
        ))
    return Histogram(data_points=points, aggregation_temporality=temporality) if points else None


def _number_points(snap: MetricSnapshot, with_start: bool) -> list[NumberDataPoint]:
    return [
        NumberDataPoint(
            attributes=dict(p.attributes),
            start_time_unix_nano=snap.start_time_unix_nano if with_start else 0,
            time_unix_nano=snap.time_unix_nano, value=p.value,
            exemplars=[_exemplar(p.exemplar)] if p.exemplar is not None else [],
        )
        for p in snap.points if isinstance(p, NumberPoint)
    ]


def _sum(snap: MetricSnapshot, temporality: AggregationTemporality) -> Sum | None:
    points = _number_points(snap, with_start=True)
    return Sum(data_points=points, aggregation_temporality=temporality, is_monotonic=True) if points else None


def _gauge(snap: MetricSnapshot, temporality: AggregationTemporality) -> Gauge | None:
    points = _number_points(snap, with_start=False)
    return Gauge(data_points=points) if points else None


_CONVERTERS: dict[str, Callable[[MetricSnapshot, AggregationTemporality], Histogram | Sum | Gauge | None]] = {
    "histogram": _histogram, "counter": _sum, "gauge": _gauge,
}


def to_metrics_data(snapshots: Iterable[MetricSnapshot], resource: Resource | None = None,
                    scope_name: str = "otelagents", scope_version: str = "0.1.0",
                    temporality: Mapping[str, bool] | None = None) -> MetricsData:
    """Convert engine snapshots to SDK ``MetricsData`` (one resource, one scope; empty metrics left out).

    ``temporality``: per kind (``"histogram"``, ``"counter"``), whether the points are deltas (the
    snapshots must then hold deltas); cumulative otherwise.
    """
    delta = temporality or {}
    metrics = []
    for snap in apply_opt_in(snapshots):  # the newest GenAI names, when opted in
        kind_temporality = AggregationTemporality.DELTA if delta.get(snap.kind) else _CUMULATIVE
        data = _CONVERTERS[snap.kind](snap, kind_temporality)
        if data is not None:
            metrics.append(Metric(name=snap.spec.name, description=snap.spec.description,
                                  unit=snap.spec.unit, data=data))
    scope = InstrumentationScope(scope_name, scope_version)
    return MetricsData(resource_metrics=[ResourceMetrics(
        resource=resource if resource is not None else Resource.create(),
        scope_metrics=[ScopeMetrics(scope=scope, metrics=metrics, schema_url="")],
        schema_url="",
    )])


def _run_bounded(target: Callable[[], object], timeout_s: float, name: str) -> bool:
    """Run ``target`` on a daemon thread; True if it finished within ``timeout_s``."""
    if timeout_s <= 0:
        return False
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    thread.join(max(timeout_s, 0.0))
    return not thread.is_alive()


class OTLPMetricsBridge:
    """Exports an engine through an SDK ``MetricExporter`` every ``interval_s`` seconds, from a daemon thread."""

    def __init__(self, engine: MetricsEngine, exporter: MetricExporter, *, interval_s: float = 60.0,
                 resource: Resource | None = None, scope_name: str = "otelagents",
                 scope_version: str = "0.1.0") -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, not {interval_s}")
        self.engine = engine
        self.exporter = exporter
        self.interval_s = interval_s
        self.resource = resource if resource is not None else Resource.create()
        self.scope_name = scope_name
        self.scope_version = scope_version
        self._export_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._shutdown = False
        self._state_lock = threading.Lock()

    def start(self) -> OTLPMetricsBridge:
        with self._state_lock:
            if self._shutdown:
                raise RuntimeError("this OTLPMetricsBridge was shut down; create a new one")
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="otelagents-otlp-metrics", daemon=True)
                self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.export_now()

    def export_now(self, timeout_s: float = 10.0) -> bool:
        """Export one snapshot now, within ``timeout_s``. Returns whether the exporter reported success in
        time; never raises. An exporter that ignores its timeout is abandoned (on its daemon thread)."""
        if timeout_s <= 0:  # an exporter reads timeout_millis=0 as "its default" (10 s): never pass it
            logger.warning("OTLP metrics export skipped: no time left")
            return False
        deadline = time.monotonic() + timeout_s
        if not self._export_lock.acquire(timeout=timeout_s):
            logger.warning("OTLP metrics export skipped: the previous export is still running after %.1f s",
                           timeout_s)
            return False
        outcome: list[bool] = []
        if deadline - time.monotonic() <= 0:
            self._export_lock.release()
            return False

        def export() -> None:
            try:
                outcome.append(self._export(max(deadline - time.monotonic(), 0.001)))
            finally:
                self._export_lock.release()

        if not _run_bounded(export, deadline - time.monotonic(), "otelagents-otlp-export"):
            logger.warning("OTLP metrics export did not finish within %.1f s; abandoned", timeout_s)
            return False
        return bool(outcome and outcome[0])

    def _export(self, timeout_s: float) -> bool:
        """One collection, in as many requests as keep each under the collector's limit (``otlp_split``);
        every request is tried, within the time left."""
        deadline = time.monotonic() + timeout_s
        ok = True
        try:
            data = to_metrics_data(self.engine.collect(), self.resource, self.scope_name, self.scope_version)
            for request in split_metrics_data(data):
                left = deadline - time.monotonic()
                if left <= 0:
                    logger.warning("OTLP metrics export ran out of time between requests; the rest is sent "
                                   "again next interval")
                    return False
                result = self.exporter.export(request, timeout_millis=left * 1000)
                if result is not MetricExportResult.SUCCESS:
                    logger.warning("OTLP metrics export failed (%s); cumulative values are sent again next "
                                   "interval", result)
                    ok = False
        except Exception:  # an exporter bug must not kill the export thread or the caller
            logger.exception("OTLP metrics export raised; metrics from this interval are retried next time")
            return False
        return ok

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Stop the thread, export a last time, then shut the exporter down; all within ``timeout_s``.
        Returns whether the last export succeeded and everything finished in time (True if already shut)."""
        with self._state_lock:
            if self._shutdown:
                return True
            self._shutdown = True
        deadline = time.monotonic() + timeout_s
        self._stop.set()
        if self._thread is not None:
            self._thread.join(max(deadline - time.monotonic(), 0.0))
        ok = self.export_now(deadline - time.monotonic())

        def close_exporter() -> None:
            try:
                self.exporter.shutdown(timeout_millis=max(deadline - time.monotonic(), 0.001) * 1000)
            except Exception:
                logger.exception("OTLP metric exporter raised on shutdown")

        if not _run_bounded(close_exporter, max(deadline - time.monotonic(), 0.1), "otelagents-otlp-shutdown"):
            logger.warning("OTLP metric exporter did not shut down within %.1f s; abandoned", timeout_s)
            ok = False
        return ok
