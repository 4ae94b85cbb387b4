"""Split one collection into OTLP requests a collector accepts.

A collector's gRPC receiver refuses a request over 4 MiB (``RESOURCE_EXHAUSTED``), and a refused export loses
every series in it. One histogram series of the chunk-gap metric, with an exemplar in each of its 111
buckets, encodes to ~7 KiB; at the engine's bound of 500 series per metric, one collection can pass 4 MiB.
The SDK's own remedy, ``OTLPMetricExporter(max_export_batch_size=...)``, counts points and exists only in
recent versions of the HTTP exporter, so the bridge splits before any exporter sees the data: by an
estimate of each point's encoded size that is never below the real one (checked against the protobuf
encoder in the tests), keeping the order of metrics and points. A metric whose points span two requests
appears in both, with the same name, unit and description.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    Metric,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)

# Under the 4 MiB a gRPC receiver takes by default, with room for the resource, scope and framing.
MAX_REQUEST_BYTES = 3 * 1024 * 1024

_POINT_FIXED = 96  # start, time, count, sum, min, max, flags, field tags and lengths
_PER_BUCKET = 20  # a fixed64 count and a double bound, with slack
_PER_EXEMPLAR = 64  # time, value, 8-byte span id, 16-byte trace id, tags and lengths
_PER_METRIC = 64  # the metric's tags, temporality and monotonicity


def point_bytes(point: Any) -> int:
    """An upper bound of one data point's encoded size."""
    return (_POINT_FIXED + _attributes_bytes(point.attributes) + _PER_EXEMPLAR * len(point.exemplars)
            + _PER_BUCKET * len(getattr(point, "bucket_counts", ())))


def _metric_bytes(metric: Metric) -> int:
    return _PER_METRIC + len(metric.name) + len(metric.description or "") + len(metric.unit or "")


def _with_points(metric: Metric, points: list[Any]) -> Metric:
    data = metric.data
    part: Histogram | Sum | Gauge
    if isinstance(data, Histogram):
        part = Histogram(data_points=points, aggregation_temporality=data.aggregation_temporality)
    elif isinstance(data, Sum):
        part = Sum(data_points=points, aggregation_temporality=data.aggregation_temporality,
                   is_monotonic=data.is_monotonic)
    else:
        part = Gauge(data_points=points)
    return Metric(name=metric.name, description=metric.description, unit=metric.unit, data=part)


def split_metrics_data(data: MetricsData, max_bytes: int = MAX_REQUEST_BYTES) -> Iterator[MetricsData]:
    """``data`` as consecutive requests of at most ~``max_bytes`` each (a single point larger than that
    goes alone); one request, unchanged, when it fits."""
    if max_bytes < 1024:
        raise ValueError(f"max_bytes must be at least 1024, not {max_bytes}")
    if _total_bytes(data) <= max_bytes:
        yield data
        return
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            room = max_bytes - _envelope_bytes(resource_metrics, scope_metrics)
            for metrics in _metric_batches(scope_metrics.metrics, room):
                scope = ScopeMetrics(scope=scope_metrics.scope, metrics=metrics, schema_url=scope_metrics.schema_url)
                yield MetricsData(resource_metrics=[ResourceMetrics(
                    resource=resource_metrics.resource, scope_metrics=[scope], schema_url=resource_metrics.schema_url)])


def _attributes_bytes(attributes: Any) -> int:
    return sum(len(str(key)) + len(str(value)) + 16 for key, value in (attributes or {}).items())


def _envelope_bytes(resource_metrics: ResourceMetrics, scope_metrics: ScopeMetrics) -> int:
    """The resource and scope every request repeats."""
    scope = scope_metrics.scope
    return (128 + _attributes_bytes(resource_metrics.resource.attributes) + len(scope.name)
            + len(scope.version or "") + len(resource_metrics.schema_url) + len(scope_metrics.schema_url))


def _total_bytes(data: MetricsData) -> int:
    total = 0
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            total += _envelope_bytes(resource_metrics, scope_metrics)
            for metric in scope_metrics.metrics:
                total += _metric_bytes(metric) + sum(point_bytes(p) for p in metric.data.data_points)
    return total


def _metric_batches(metrics: Any, max_bytes: int) -> Iterator[list[Metric]]:
    batch: list[Metric] = []
    size = 0
    for metric in metrics:
        points: list[Any] = []
        for point in metric.data.data_points:
            cost = point_bytes(point) + (0 if points else _metric_bytes(metric))
            if size + cost > max_bytes and (batch or points):
                if points:
                    batch.append(_with_points(metric, points))
                yield batch
                batch, points, size = [], [], 0
                cost = point_bytes(point) + _metric_bytes(metric)
            points.append(point)
            size += cost
        if points:
            batch.append(_with_points(metric, points))
    if batch:
        yield batch
