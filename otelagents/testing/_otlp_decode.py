"""What the test OTLP receiver decodes: spans, events, metrics and their points as small dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2


@dataclass(frozen=True)
class ReceivedEvent:
    name: str
    time_unix_nano: int
    attributes: dict[str, Any]


@dataclass(frozen=True)
class ReceivedSpan:
    """A decoded span. Ids are lowercase hex; ``parent_span_id`` is ``''`` for a root span."""

    name: str
    kind: str  # "INTERNAL", "CLIENT", "SERVER", "PRODUCER", "CONSUMER" or "UNSPECIFIED"
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]  # arrays decode to tuples
    status_code: str  # "UNSET", "OK" or "ERROR"
    status_message: str
    events: tuple[ReceivedEvent, ...]
    resource: dict[str, Any]
    scope_name: str
    start_time_unix_nano: int
    end_time_unix_nano: int
    transport: str  # "grpc" or "http"

    @property
    def duration_s(self) -> float:
        return (self.end_time_unix_nano - self.start_time_unix_nano) / 1e9


@dataclass(frozen=True)
class ReceivedExemplar:
    value: float
    trace_id: str  # hex, '' when absent
    span_id: str
    time_unix_nano: int
    attributes: dict[str, Any]


@dataclass(frozen=True)
class ReceivedDataPoint:
    """A number point (``value``) or a histogram point (``count``/``sum``/buckets)."""

    attributes: dict[str, Any]
    start_time_unix_nano: int
    time_unix_nano: int
    value: float | None = None
    count: int | None = None
    sum: float | None = None
    min: float | None = None
    max: float | None = None
    bucket_counts: tuple[int, ...] = ()
    explicit_bounds: tuple[float, ...] = ()
    exemplars: tuple[ReceivedExemplar, ...] = ()


@dataclass(frozen=True)
class ReceivedMetric:
    name: str
    unit: str
    description: str
    kind: str  # "histogram", "sum", "gauge", "exponential_histogram" or "summary"
    data_points: tuple[ReceivedDataPoint, ...]
    temporality: str  # "CUMULATIVE", "DELTA", or "" for gauges
    is_monotonic: bool
    resource: dict[str, Any]
    scope_name: str
    scope_version: str
    transport: str


# --- decoding ------------------------------------------------------------------------------------------

def _any(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return tuple(_any(v) for v in value.array_value.values)
    if which == "kvlist_value":
        return _attrs(value.kvlist_value.values)
    return getattr(value, which)


def _attrs(pairs: Any) -> dict[str, Any]:
    return {kv.key: _any(kv.value) for kv in pairs}


def _enum(name: str, prefix: str) -> str:
    return name.removeprefix(prefix)


def _decode_spans(body: bytes, transport: str) -> list[ReceivedSpan]:
    request = ExportTraceServiceRequest.FromString(body)
    out: list[ReceivedSpan] = []
    for rs in request.resource_spans:
        resource = _attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(ReceivedSpan(
                    name=s.name, kind=_enum(trace_pb2.Span.SpanKind.Name(s.kind), "SPAN_KIND_"),
                    trace_id=s.trace_id.hex(), span_id=s.span_id.hex(), parent_span_id=s.parent_span_id.hex(),
                    attributes=_attrs(s.attributes),
                    status_code=_enum(trace_pb2.Status.StatusCode.Name(s.status.code), "STATUS_CODE_"),
                    status_message=s.status.message,
                    events=tuple(ReceivedEvent(e.name, e.time_unix_nano, _attrs(e.attributes)) for e in s.events),
                    resource=resource, scope_name=ss.scope.name, start_time_unix_nano=s.start_time_unix_nano,
                    end_time_unix_nano=s.end_time_unix_nano, transport=transport,
                ))
    return out


def _exemplars(exemplars: Any) -> tuple[ReceivedExemplar, ...]:
    return tuple(
        ReceivedExemplar(value=getattr(e, e.WhichOneof("value") or "as_double"), trace_id=e.trace_id.hex(),
                         span_id=e.span_id.hex(), time_unix_nano=e.time_unix_nano,
                         attributes=_attrs(e.filtered_attributes))
        for e in exemplars
    )


def _number_point(p: Any) -> ReceivedDataPoint:
    return ReceivedDataPoint(_attrs(p.attributes), p.start_time_unix_nano, p.time_unix_nano,
                             value=getattr(p, p.WhichOneof("value") or "as_double"),
                             exemplars=_exemplars(p.exemplars))


def _histogram_point(p: Any) -> ReceivedDataPoint:
    return ReceivedDataPoint(
        _attrs(p.attributes), p.start_time_unix_nano, p.time_unix_nano, count=p.count,
        sum=p.sum if p.HasField("sum") else None, min=p.min if p.HasField("min") else None,
        max=p.max if p.HasField("max") else None, bucket_counts=tuple(p.bucket_counts),
        explicit_bounds=tuple(p.explicit_bounds), exemplars=_exemplars(p.exemplars),
    )


def _decode_metric(m: Any, resource: dict[str, Any], scope: Any, transport: str) -> ReceivedMetric:
    kind = m.WhichOneof("data") or ""
    data = getattr(m, kind) if kind else None
    if kind in ("sum", "gauge"):
        points = tuple(_number_point(p) for p in data.data_points)  # type: ignore[union-attr]
    elif kind == "histogram":
        points = tuple(_histogram_point(p) for p in data.data_points)  # type: ignore[union-attr]
    else:  # exponential histograms and summaries: attributes and times only
        points = tuple(ReceivedDataPoint(_attrs(p.attributes), p.start_time_unix_nano, p.time_unix_nano,
                                         count=p.count) for p in data.data_points) if data else ()
    temporality = ""
    if kind in ("sum", "histogram", "exponential_histogram"):
        temporality = _enum(metrics_pb2.AggregationTemporality.Name(data.aggregation_temporality),  # type: ignore[union-attr]
                            "AGGREGATION_TEMPORALITY_")
    return ReceivedMetric(
        name=m.name, unit=m.unit, description=m.description, kind=kind, data_points=points,
        temporality=temporality, is_monotonic=bool(kind == "sum" and data.is_monotonic),  # type: ignore[union-attr]
        resource=resource, scope_name=scope.name, scope_version=scope.version, transport=transport,
    )


def _decode_metrics(body: bytes, transport: str) -> list[ReceivedMetric]:
    request = ExportMetricsServiceRequest.FromString(body)
    out: list[ReceivedMetric] = []
    for rm in request.resource_metrics:
        resource = _attrs(rm.resource.attributes)
        for sm in rm.scope_metrics:
            out.extend(_decode_metric(m, resource, sm.scope, transport) for m in sm.metrics)
    return out
