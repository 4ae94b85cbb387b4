"""``split_metrics_data``: one collection as OTLP requests under a size limit, nothing lost, order kept.

Sizes are checked against the real protobuf encoding the OTLP exporters send."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics.export import MetricsData

from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import MetricsEngine
from otelagents.telemetry._metrics.otlp import to_metrics_data
from otelagents.telemetry._metrics.otlp_split import split_metrics_data
from otelagents.telemetry._metrics.points import Exemplar


def _collection(series: int) -> MetricsData:
    """Every histogram bucket, counter and gauge of ``series`` agents, with an exemplar wherever one fits."""
    engine = MetricsEngine()
    for i in range(series):
        attrs = {sc.GEN_AI_AGENT_NAME: f"agent-{i}", sc.GEN_AI_REQUEST_MODEL: "m" * 40}
        for name in (sc.METRIC_TIME_PER_OUTPUT_CHUNK, sc.METRIC_TIME_TO_FIRST_TOKEN):
            bound = engine.histogram(name).bind(attrs)
            for j, b in enumerate(engine.specs[name].buckets):
                bound.record(b * 0.999, Exemplar(trace_id=(i << 64) + j + 1, span_id=j + 1))
        engine.counter(sc.METRIC_STALLS).add(i + 1, attrs, Exemplar(trace_id=i + 1, span_id=1))
    return to_metrics_data(engine.collect())


def _points(data: MetricsData) -> list[tuple[str, tuple[tuple[str, object], ...]]]:
    return [(m.name, tuple(sorted(p.attributes.items())))
            for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics for p in m.data.data_points]


def test_a_small_collection_is_one_request_unchanged() -> None:
    data = _collection(3)
    assert list(split_metrics_data(data)) == [data]


@pytest.mark.parametrize("max_bytes", [64 * 1024, 256 * 1024])
def test_requests_stay_under_the_limit_and_keep_every_point_in_order(max_bytes: int) -> None:
    data = _collection(60)
    whole = encode_metrics(data).ByteSize()
    requests = list(split_metrics_data(data, max_bytes))
    assert whole > 2 * max_bytes and len(requests) >= whole // max_bytes  # really split
    assert all(encode_metrics(r).ByteSize() <= max_bytes for r in requests)
    assert [p for r in requests for p in _points(r)] == _points(data)
    resources = {id(r.resource_metrics[0].resource) for r in requests}
    assert resources == {id(data.resource_metrics[0].resource)}  # every request names the same resource
    split_metric = next(m for r in requests for m in r.resource_metrics[0].scope_metrics[0].metrics
                        if m.name == sc.METRIC_TIME_PER_OUTPUT_CHUNK)
    original = next(m for m in data.resource_metrics[0].scope_metrics[0].metrics if m.name == split_metric.name)
    assert (split_metric.unit, split_metric.description) == (original.unit, original.description)
    assert split_metric.data.aggregation_temporality == original.data.aggregation_temporality


def test_a_point_larger_than_the_limit_goes_alone() -> None:
    data = _collection(2)
    requests = list(split_metrics_data(data, 1024))  # below one histogram point with its exemplars
    assert [p for r in requests for p in _points(r)] == _points(data)
    big = [r for r in requests if encode_metrics(r).ByteSize() > 1024]
    assert big and all(len(_points(r)) == 1 for r in big)


def test_the_limit_must_leave_room_for_a_request() -> None:
    with pytest.raises(ValueError, match="at least 1024"):
        list(split_metrics_data(_collection(1), 100))
