"""OTLP export of the engine (real SDK exporters -> in-process receiver), the receiver's span decoding,
fault modes, and the OpenTelemetry-API sink."""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Iterator, Sequence

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from otelagents.telemetry import semconv
from otelagents.telemetry._metrics import Exemplar, MetricsEngine, OTelAPISink, OTLPMetricsBridge
from otelagents.telemetry._metrics.otlp import to_metrics_data
from otelagents.testing.otlp import OTLPReceiver, ReceivedMetric

GAP = semconv.METRIC_TIME_PER_OUTPUT_CHUNK
ATTRS = {semconv.GEN_AI_OPERATION_NAME: "chat", semconv.GEN_AI_REQUEST_MODEL: "m1"}
TRACE_ID, SPAN_ID = 0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331
RESOURCE = Resource.create({"service.name": "otlp-test"})


def metric_exporter(receiver: OTLPReceiver, transport: str, timeout_s: float = 5.0) -> MetricExporter:
    if transport == "grpc":
        return GrpcMetricExporter(endpoint=receiver.grpc_endpoint, insecure=True, timeout=timeout_s)
    return HttpMetricExporter(endpoint=receiver.http_endpoint + "/v1/metrics", timeout=timeout_s,
                              compression=Compression.Gzip)


def filled_engine() -> MetricsEngine:
    engine = MetricsEngine()
    engine.histogram(GAP).bind(ATTRS).record_many([0.0004, 0.001, 0.004, 0.004, 0.3],
                                                  Exemplar(TRACE_ID, SPAN_ID))
    engine.histogram(semconv.METRIC_OPERATION_DURATION).bind(ATTRS)  # bound but empty: not exported
    engine.counter(semconv.METRIC_ERRORS).add(2, {semconv.ERROR_TYPE: "timeout"}, Exemplar(TRACE_ID, 7))
    engine.gauge(semconv.METRIC_INFO).set(1, {"version": "0.1.0"})
    return engine


def bucket_counts(values: Sequence[float], bounds: Sequence[float]) -> tuple[int, ...]:
    """Per-bucket counts with Prometheus ``le`` semantics (a value equal to a bound is in that bucket)."""
    counts = [0] * (len(bounds) + 1)
    for value in values:
        counts[bisect_left(bounds, value)] += 1
    return tuple(counts)


def latest(receiver: OTLPReceiver, name: str) -> ReceivedMetric:
    return receiver.wait_for_metrics(name)[-1]


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_bridge_exports_buckets_and_exemplars(otlp_receiver: OTLPReceiver, transport: str) -> None:
    bridge = OTLPMetricsBridge(filled_engine(), metric_exporter(otlp_receiver, transport), resource=RESOURCE)
    try:
        assert bridge.export_now() is True
    finally:
        bridge.shutdown()
    gap = latest(otlp_receiver, GAP)
    assert (gap.kind, gap.unit, gap.temporality, gap.transport) == ("histogram", "s", "CUMULATIVE", transport)
    assert gap.description.startswith("Gap between consecutive")
    assert gap.resource["service.name"] == "otlp-test"
    assert (gap.scope_name, gap.scope_version) == ("otelagents", "0.1.0")
    (point,) = gap.data_points
    assert point.attributes == ATTRS
    assert point.explicit_bounds == semconv.CHUNK_GAP_BUCKETS
    assert point.bucket_counts == bucket_counts([0.0004, 0.001, 0.004, 0.004, 0.3], semconv.CHUNK_GAP_BUCKETS)
    assert (point.count, point.min, point.max) == (5, 0.0004, 0.3)
    assert point.sum == pytest.approx(0.3094)
    (exemplar,) = point.exemplars  # attached to the largest value of the batch
    assert (exemplar.trace_id, exemplar.span_id) == (f"{TRACE_ID:032x}", f"{SPAN_ID:016x}")
    assert exemplar.value == 0.3
    errors = latest(otlp_receiver, semconv.METRIC_ERRORS)
    assert (errors.kind, errors.is_monotonic, errors.temporality) == ("sum", True, "CUMULATIVE")
    (epoint,) = errors.data_points
    assert (epoint.value, epoint.attributes) == (2, {semconv.ERROR_TYPE: "timeout"})
    assert epoint.exemplars[0].span_id == f"{7:016x}"
    info = latest(otlp_receiver, semconv.METRIC_INFO)
    assert info.kind == "gauge" and info.data_points[0].value == 1
    names = {m.name for m in otlp_receiver.metrics()}
    assert semconv.METRIC_OPERATION_DURATION not in names  # no measurement yet: nothing to export


def test_periodic_thread_sends_cumulative_values(otlp_receiver: OTLPReceiver) -> None:
    engine = MetricsEngine()
    bound = engine.histogram(GAP).bind(ATTRS)
    bound.record(0.01)
    bridge = OTLPMetricsBridge(engine, metric_exporter(otlp_receiver, "grpc"), interval_s=0.1).start()
    try:
        otlp_receiver.wait_for_metrics(GAP, timeout_s=10)
        bound.record(0.02)
        deadline = time.monotonic() + 10
        while latest(otlp_receiver, GAP).data_points[0].count != 2:
            assert time.monotonic() < deadline, "the second measurement never reached the receiver"
            time.sleep(0.05)
    finally:
        bridge.shutdown()
    starts = {m.data_points[0].start_time_unix_nano for m in otlp_receiver.metrics()}
    assert starts == {engine.start_time_unix_nano}


class FlakyExporter(MetricExporter):
    """A real exporter peer that raises on its first export, then succeeds."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.exported: list[MetricsData] = []

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
               **kwargs: object) -> MetricExportResult:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("collector exploded")
        self.exported.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        raise RuntimeError("shutdown exploded too")


def test_a_raising_exporter_never_kills_the_thread() -> None:
    exporter = FlakyExporter()
    bridge = OTLPMetricsBridge(filled_engine(), exporter, interval_s=0.05).start()
    deadline = time.monotonic() + 10
    while exporter.calls < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    bridge.shutdown()  # the exporter's shutdown raises too: logged, not raised
    bridge.shutdown()  # idempotent
    assert exporter.calls >= 3 and exporter.exported


@pytest.mark.parametrize("behaviour", ["refuse", "hang"])
@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_shutdown_is_bounded_when_the_endpoint_fails(transport: str, behaviour: str) -> None:
    with OTLPReceiver() as receiver:
        receiver.behaviour = behaviour
        bridge = OTLPMetricsBridge(filled_engine(), metric_exporter(receiver, transport, timeout_s=0.5),
                                   interval_s=60).start()
        started = time.monotonic()
        assert bridge.export_now(timeout_s=1) is False
        bridge.shutdown(timeout_s=2)
        elapsed = time.monotonic() - started
        assert elapsed < 4, f"export + shutdown took {elapsed:.1f} s against a {behaviour!r} endpoint"
        assert receiver.metrics() == []  # nothing accepted...
        assert semconv.METRIC_TIME_PER_OUTPUT_CHUNK.encode() in receiver.raw_bytes()  # ...but it was sent


def test_shutdown_abandons_an_export_slower_than_its_own_timeout() -> None:
    with OTLPReceiver() as receiver:
        receiver.behaviour = "hang"
        bridge = OTLPMetricsBridge(filled_engine(), metric_exporter(receiver, "grpc", timeout_s=30))
        started = time.monotonic()
        bridge.shutdown(timeout_s=1)
        assert time.monotonic() - started < 2.5


def test_to_metrics_data_leaves_out_metrics_without_measurements() -> None:
    data = to_metrics_data(MetricsEngine().collect(), RESOURCE)
    (resource_metrics,) = data.resource_metrics
    assert resource_metrics.scope_metrics[0].metrics == []
    assert resource_metrics.resource.attributes["service.name"] == "otlp-test"


# --- the receiver's trace side ---------------------------------------------------------------------------

@pytest.fixture(params=["grpc", "http"])
def traced(request: pytest.FixtureRequest, otlp_receiver: OTLPReceiver) -> Iterator[tuple[str, OTLPReceiver]]:
    transport: str = request.param
    exporter = (GrpcSpanExporter(endpoint=otlp_receiver.grpc_endpoint, insecure=True, timeout=5)
                if transport == "grpc" else
                HttpSpanExporter(endpoint=otlp_receiver.http_endpoint + "/v1/traces", timeout=5,
                                 compression=Compression.Gzip))
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=50))
    tracer = provider.get_tracer("otelagents.tests")
    with (tracer.start_as_current_span("invoke_agent triage", attributes={"gen_ai.agent.name": "triage"}),
          tracer.start_as_current_span("chat m1", kind=SpanKind.CLIENT) as child):
        child.set_attribute("gen_ai.usage.output_tokens", 42)
        child.set_attribute("gen_ai.response.finish_reasons", ["stop", "length"])
        child.set_attribute("gen_ai.request.stream", True)
        child.add_event("gen_ai.first_token", {"otelagents.turn": 1})
        child.set_status(Status(StatusCode.ERROR, "model went away"))
    provider.shutdown()  # flush and close before the receiver stops
    yield transport, otlp_receiver


def test_receiver_decodes_a_span_tree(traced: tuple[str, OTLPReceiver]) -> None:
    transport, receiver = traced
    spans = {s.name: s for s in receiver.wait_for_spans(2)}
    parent, child = spans["invoke_agent triage"], spans["chat m1"]
    assert (parent.kind, child.kind) == ("INTERNAL", "CLIENT")
    assert parent.parent_span_id == "" and child.parent_span_id == parent.span_id
    assert child.trace_id == parent.trace_id and len(child.trace_id) == 32 and len(child.span_id) == 16
    assert parent.attributes == {"gen_ai.agent.name": "triage"}
    assert child.attributes == {"gen_ai.usage.output_tokens": 42, "gen_ai.response.finish_reasons":
                                ("stop", "length"), "gen_ai.request.stream": True}
    assert (child.status_code, child.status_message, parent.status_code) == ("ERROR", "model went away", "UNSET")
    assert [(e.name, e.attributes) for e in child.events] == [("gen_ai.first_token", {"otelagents.turn": 1})]
    assert child.resource["service.name"] == "otlp-test" and child.scope_name == "otelagents.tests"
    assert parent.start_time_unix_nano <= child.start_time_unix_nano <= child.end_time_unix_nano
    assert {s.transport for s in spans.values()} == {transport}
    assert b"model went away" in receiver.raw_bytes()  # decompressed when gzip was used


def test_wait_for_spans_times_out_with_what_it_has(otlp_receiver: OTLPReceiver) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"no 1 spans within 0.2 s; received so far: \[\]"):
        otlp_receiver.wait_for_spans(1, timeout_s=0.2)
    with pytest.raises(TimeoutError, match="a span matching"):
        otlp_receiver.wait_for_spans(lambda s: s.name == "x", timeout_s=0.1)
    assert time.monotonic() - started < 2
    with pytest.raises(ValueError, match="behaviour must be one of"):
        otlp_receiver.behaviour = "explode"


# --- the OpenTelemetry-API sink ------------------------------------------------------------------------

def test_otel_api_sink_records_the_gaps_between_times() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    times = [10.0, 10.0004, 10.0014, 10.0054, 10.3054]  # gaps 0.0004, 0.001, 0.004, 0.3
    stalls = OTelAPISink(provider).histogram(GAP).bind(ATTRS).record_gaps(times, 0.25, Exemplar(TRACE_ID, SPAN_ID))
    data = reader.get_metrics_data()
    provider.shutdown()
    assert data is not None and stalls == 1  # only the 0.3 s gap is past 0.25 s
    (point,) = [p for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
                if m.name == GAP for p in m.data.data_points]
    assert isinstance(point, HistogramDataPoint)
    gaps = [b - a for a, b in zip(times[:-1], times[1:], strict=True)]
    assert tuple(point.bucket_counts) == bucket_counts(gaps, semconv.CHUNK_GAP_BUCKETS) and point.count == 4
    assert point.sum == pytest.approx(0.3054)


def test_otel_api_sink_records_through_the_sdk() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    sink = OTelAPISink(provider)
    values: Sequence[float] = [0.0004, 0.001, 0.004, 0.3]
    sink.histogram(GAP).bind({**ATTRS, "user.id": "dropped"}).record_many(values, Exemplar(TRACE_ID, SPAN_ID))
    sink.histogram(GAP).record(-1.0, ATTRS)  # ignored
    sink.counter(semconv.METRIC_ERRORS).add(3, {semconv.ERROR_TYPE: "timeout"})
    sink.gauge(semconv.METRIC_INFO).set(1, {"version": "0.1.0"})
    data = reader.get_metrics_data()
    provider.shutdown()
    assert data is not None
    metrics = {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    gap = metrics[GAP]
    assert gap.unit == "s"
    (point,) = gap.data.data_points
    assert isinstance(point, HistogramDataPoint)
    assert dict(point.attributes) == ATTRS
    assert tuple(point.explicit_bounds) == semconv.CHUNK_GAP_BUCKETS
    assert tuple(point.bucket_counts) == bucket_counts(values, semconv.CHUNK_GAP_BUCKETS) and point.count == 4
    assert point.sum == pytest.approx(sum(values))
    assert point.exemplars and {e.trace_id for e in point.exemplars} == {TRACE_ID}
    assert metrics[semconv.METRIC_ERRORS].data.data_points[0].value == 3
    assert metrics[semconv.METRIC_INFO].data.data_points[0].value == 1
    with pytest.raises(ValueError, match="unknown counter"):
        sink.counter("nope")


def test_otel_api_sink_is_safe_from_threads() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    bound = OTelAPISink(provider).histogram(GAP).bind(ATTRS)
    threads = [threading.Thread(target=lambda: bound.record_many([0.01] * 200)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    data = reader.get_metrics_data()
    provider.shutdown()
    assert data is not None
    (point,) = data.resource_metrics[0].scope_metrics[0].metrics[0].data.data_points
    assert point.count == 600  # type: ignore[union-attr]
