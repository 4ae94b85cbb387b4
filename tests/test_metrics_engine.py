"""The in-process aggregation engine: bucket placement, exact totals, cardinality, threads, errors."""

from __future__ import annotations

import logging
import math
import threading

import pytest

from otelagents.telemetry import semconv
from otelagents.telemetry._metrics.engine import (
    OVERFLOW_ATTRIBUTE,
    Exemplar,
    HistogramPoint,
    MetricsEngine,
    MetricSnapshot,
    NumberPoint,
)
from otelagents.telemetry.semconv import MetricSpec

GAP = semconv.METRIC_TIME_PER_OUTPUT_CHUNK
ATTRS = {semconv.GEN_AI_OPERATION_NAME: "chat", semconv.GEN_AI_REQUEST_MODEL: "m1"}


def snapshot(engine: MetricsEngine, name: str) -> MetricSnapshot:
    return next(s for s in engine.collect() if s.name == name)


def only_point(engine: MetricsEngine, name: str) -> HistogramPoint:
    (point,) = snapshot(engine, name).points
    assert isinstance(point, HistogramPoint)
    return point


def test_value_equal_to_a_bound_lands_in_that_bucket(metrics_engine: MetricsEngine) -> None:
    bounds = semconv.CHUNK_GAP_BUCKETS
    bound = metrics_engine.histogram(GAP).bind(ATTRS)
    for b in bounds:
        bound.record(b)
    bound.record(math.nextafter(bounds[0], math.inf))  # just above the first bound: second bucket
    bound.record(bounds[-1] + 1)  # above the last bound: +Inf bucket
    bound.record(0.0)  # zero: first bucket
    point = only_point(metrics_engine, GAP)
    assert point.bounds == bounds
    assert len(point.bucket_counts) == len(bounds) + 1
    assert point.bucket_counts[0] == 2
    assert point.bucket_counts[1] == 2
    assert point.bucket_counts[2:-1] == (1,) * (len(bounds) - 2)
    assert point.bucket_counts[-1] == 1


def test_counts_sum_min_max_are_exact(metrics_engine: MetricsEngine) -> None:
    hist = metrics_engine.histogram(semconv.METRIC_TOKEN_USAGE)
    for v in (3, 10, 100, 5000):
        hist.record(v, {semconv.GEN_AI_TOKEN_TYPE: "output"})
    point = only_point(metrics_engine, semconv.METRIC_TOKEN_USAGE)
    assert (point.count, point.sum, point.min, point.max) == (4, 5113, 3, 5000)
    assert dict(point.attributes) == {semconv.GEN_AI_TOKEN_TYPE: "output"}
    # bounds 1, 4, 16, 64, 256, 1024, 4096, 16384, ...
    assert point.bucket_counts[:8] == (0, 1, 1, 0, 1, 0, 0, 1)


def test_record_many_equals_record_one_by_one() -> None:
    values = [0.0004, 0.0005, 0.001, 0.0031, 0.2, 0.2, 5.0, 6.5, 0.0]
    one, many = MetricsEngine(), MetricsEngine()
    for v in values:
        one.histogram(GAP).bind(ATTRS).record(v)
    many.histogram(GAP).bind(ATTRS).record_many(values)
    a, b = only_point(one, GAP), only_point(many, GAP)
    assert (a.bucket_counts, a.count, a.min, a.max) == (b.bucket_counts, b.count, b.min, b.max)
    assert a.count == len(values) and a.sum == pytest.approx(b.sum) == pytest.approx(sum(values))


def test_record_many_accepts_any_iterable_and_filters_bad_values(metrics_engine: MetricsEngine) -> None:
    bound = metrics_engine.histogram(GAP).bind(ATTRS)
    bound.record_many(v for v in (0.001, 0.002))  # a generator is consumed once, correctly
    bound.record_many([0.001, math.nan, -1.0, math.inf, "x", None, 0.5])  # type: ignore[list-item]
    bound.record_many([])
    point = only_point(metrics_engine, GAP)
    assert point.count == 4
    assert point.sum == pytest.approx(0.504)


def test_bad_values_are_ignored_without_raising(metrics_engine: MetricsEngine) -> None:
    hist = metrics_engine.histogram(GAP)
    for bad in (math.nan, -0.5, math.inf, "slow", None, object()):
        hist.record(bad, ATTRS)  # type: ignore[arg-type]
    hist.record(0.25, ATTRS)
    counter = metrics_engine.counter(semconv.METRIC_ERRORS)
    for bad in (-1, math.nan, math.inf, "1"):
        counter.add(bad, {semconv.ERROR_TYPE: "x"})  # type: ignore[arg-type]
    counter.add(2, {semconv.ERROR_TYPE: "x"})
    point = only_point(metrics_engine, GAP)
    assert (point.count, point.sum) == (1, 0.25)
    (cpoint,) = snapshot(metrics_engine, semconv.METRIC_ERRORS).points
    assert isinstance(cpoint, NumberPoint) and cpoint.value == 2


def test_unknown_attribute_keys_and_bad_values_are_dropped(metrics_engine: MetricsEngine) -> None:
    hist = metrics_engine.histogram(GAP)
    hist.record(0.01, {**ATTRS, "user.id": "u-123", semconv.GEN_AI_RESPONSE_ID: "resp-9"})
    hist.record(0.01, {**ATTRS, semconv.SERVER_PORT: [1, 2]})  # type: ignore[dict-item]
    hist.record(0.01, "not a mapping")  # type: ignore[arg-type]
    points = snapshot(metrics_engine, GAP).points
    assert sorted(dict(p.attributes) == ATTRS for p in points) == [False, True]
    assert [p.count for p in points if dict(p.attributes) == ATTRS] == [2]  # type: ignore[union-attr]


def test_bind_resolves_equal_attribute_sets_to_one_series(metrics_engine: MetricsEngine) -> None:
    hist = metrics_engine.histogram(GAP)
    reordered = dict(reversed(list(ATTRS.items())))
    assert hist.bind(ATTRS) is hist.bind(reordered)
    hist.bind(ATTRS).record(0.1)
    hist.record(0.1, reordered)
    assert only_point(metrics_engine, GAP).count == 2


def test_cardinality_bound_folds_into_overflow_series(caplog: pytest.LogCaptureFixture) -> None:
    engine = MetricsEngine(max_series_per_metric=3)
    hist = engine.histogram(GAP)
    with caplog.at_level(logging.WARNING, logger="otelagents.telemetry._metrics.engine"):
        for i in range(10):
            hist.record(0.01, {semconv.GEN_AI_REQUEST_MODEL: f"model-{i}"})
        hist.record(0.01, {semconv.GEN_AI_REQUEST_MODEL: "model-0"})  # existing series still used
    points = {tuple(sorted(p.attributes.items())): p for p in snapshot(engine, GAP).points}
    assert len(points) == 4
    overflow = points[((OVERFLOW_ATTRIBUTE, True),)]
    assert overflow.count == 7  # type: ignore[union-attr]
    assert points[((semconv.GEN_AI_REQUEST_MODEL, "model-0"),)].count == 2  # type: ignore[union-attr]
    warnings = [r for r in caplog.records if GAP in r.getMessage()]
    assert len(warnings) == 1 and "max_series_per_metric" in warnings[0].getMessage()


def test_exemplars_one_per_bucket_last_wins(metrics_engine: MetricsEngine) -> None:
    bound = metrics_engine.histogram(GAP).bind(ATTRS)
    bound.record(0.0041, Exemplar(trace_id=1, span_id=10))
    bound.record(0.0042, Exemplar(trace_id=2, span_id=20))  # same bucket (0.003906, 0.00426]: replaces
    bound.record(0.3, Exemplar(trace_id=3, span_id=30))
    bound.record(0.3)  # no exemplar: keeps the previous one
    bound.record_many([0.0001, 1.7, 0.02], Exemplar(trace_id=4, span_id=40))  # attached to the max, 1.7
    point = only_point(metrics_engine, GAP)
    kept = {(ex.value, ex.trace_id, ex.span_id) for ex in point.exemplars if ex is not None}
    assert kept == {(0.0042, 2, 20), (0.3, 3, 30), (1.7, 4, 40)}
    bounds = point.bounds
    assert bounds[bounds.index(0.003906) + 1] == 0.00426
    assert point.exemplars[bounds.index(0.00426)].trace_id == 2  # type: ignore[union-attr]
    assert point.exemplars[bounds.index(1.834)].trace_id == 4  # 1.7 is in (1.682, 1.834]  # type: ignore[union-attr]
    assert all(ex.time_unix_nano > 0 for ex in point.exemplars if ex is not None)


def test_counter_and_gauge(metrics_engine: MetricsEngine) -> None:
    handoffs = metrics_engine.counter(semconv.METRIC_HANDOFFS)
    pair = {semconv.GEN_AI_AGENT_HANDOFF_SOURCE_NAME: "triage", semconv.GEN_AI_AGENT_HANDOFF_TARGET_NAME: "b"}
    bound = handoffs.bind(pair)
    bound.add()
    bound.add(2, Exemplar(trace_id=7, span_id=8))
    handoffs.add(1.5, pair)
    info = metrics_engine.gauge(semconv.METRIC_INFO)
    info.set(3, {"version": "0.1.0"})
    info.set(1, {"version": "0.1.0"})
    info.set(math.nan, {"version": "0.1.0"})  # ignored
    (cpoint,) = snapshot(metrics_engine, semconv.METRIC_HANDOFFS).points
    assert isinstance(cpoint, NumberPoint)
    assert cpoint.value == 4.5
    assert cpoint.exemplar is not None and (cpoint.exemplar.trace_id, cpoint.exemplar.value) == (7, 2)
    (gpoint,) = snapshot(metrics_engine, semconv.METRIC_INFO).points
    assert isinstance(gpoint, NumberPoint) and gpoint.value == 1


def test_collect_lists_every_spec_and_empty_min_max_are_nan(metrics_engine: MetricsEngine) -> None:
    metrics_engine.histogram(GAP).bind(ATTRS)  # a bound but unused series
    snaps = metrics_engine.collect()
    assert [s.name for s in snaps] == [spec.name for spec in semconv.METRICS]
    point = only_point(metrics_engine, GAP)
    assert point.count == 0 and math.isnan(point.min) and math.isnan(point.max)
    assert all(s.start_time_unix_nano == metrics_engine.start_time_unix_nano for s in snaps)
    assert all(s.time_unix_nano >= s.start_time_unix_nano for s in snaps)


def test_concurrent_recording_keeps_exact_totals(metrics_engine: MetricsEngine) -> None:
    hist = metrics_engine.histogram(GAP)
    counter = metrics_engine.counter(semconv.METRIC_STALLS)
    threads_n, per_thread = 4, 2000
    start = threading.Barrier(threads_n + 1)

    def work(i: int) -> None:
        bound = hist.bind(ATTRS)
        start.wait(timeout=10)
        for _ in range(per_thread // 2):
            bound.record(0.001)
            hist.record(0.25, ATTRS)
            counter.add(1, {semconv.GEN_AI_REQUEST_MODEL: f"m{i % 2}"})
        bound.record_many([0.001] * per_thread)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    start.wait(timeout=10)
    while any(t.is_alive() for t in threads):  # snapshots taken while writers run stay consistent
        point = only_point(metrics_engine, GAP)
        assert sum(point.bucket_counts) == point.count
        threads[0].join(timeout=0.01)
    for t in threads:
        t.join(timeout=30)
    point = only_point(metrics_engine, GAP)
    assert point.count == threads_n * per_thread * 2
    assert point.bucket_counts[point.bounds.index(0.001)] == threads_n * per_thread * 3 // 2
    assert point.sum == pytest.approx(threads_n * per_thread * (0.001 * 1.5 + 0.25 * 0.5))
    values = [p.value for p in snapshot(metrics_engine, semconv.METRIC_STALLS).points]  # type: ignore[union-attr]
    assert sorted(values) == [threads_n * per_thread / 4] * 2


def test_unknown_or_wrong_kind_names_raise_with_the_known_names(metrics_engine: MetricsEngine) -> None:
    with pytest.raises(ValueError, match="unknown histogram 'gen_ai.nope'") as info:
        metrics_engine.histogram("gen_ai.nope")
    assert GAP in str(info.value)
    with pytest.raises(ValueError, match=r"is a counter, not a histogram: use \.counter"):
        metrics_engine.histogram(semconv.METRIC_ERRORS)
    with pytest.raises(ValueError, match="unknown gauge"):
        metrics_engine.gauge(GAP.replace("chunk", "token"))


def test_invalid_specs_are_rejected_at_construction() -> None:
    unsorted = MetricSpec("x.h", "histogram", "s", "d", (), (0.2, 0.1))
    with pytest.raises(ValueError, match="strictly increasing"):
        MetricsEngine([unsorted])
    dup = MetricSpec("x.c", "counter", "1", "d", ())
    with pytest.raises(ValueError, match="defined twice"):
        MetricsEngine([dup, dup])
    with pytest.raises(ValueError, match="max_series_per_metric"):
        MetricsEngine(max_series_per_metric=0)


def test_long_batches_counted_by_sorting_land_in_the_same_buckets() -> None:
    import random

    rng = random.Random(7)
    values = [rng.choice([0.0005, 0.001, 0.002, 0.0075, 5.0]) for _ in range(200)]  # exact bounds too
    values += [rng.uniform(0, 6) for _ in range(800)] + [0.0, 7.5]
    one, many = MetricsEngine(), MetricsEngine()
    for v in values:
        one.histogram(GAP).bind(ATTRS).record(v)
    many.histogram(GAP).bind(ATTRS).record_many(values)
    a, b = only_point(one, GAP), only_point(many, GAP)
    assert len(values) >= 32
    assert (a.bucket_counts, a.count, a.min, a.max) == (b.bucket_counts, b.count, b.min, b.max)
    assert a.sum == pytest.approx(b.sum)
