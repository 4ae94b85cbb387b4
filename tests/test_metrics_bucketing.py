"""``record_many``'s batch bucketing gives exactly what one ``record`` per value gives.

The batch path takes shortcuts (one bucket for the whole batch when its min and max share one, a sort and
one bisect per bucket in between for long batches, a sort of only the values above the first bound for a
burst of small values); the obvious implementation, ``bisect_left`` per value
over the bounds (Prometheus ``le``: a value on a bound is in that bound's bucket), is the reference.
"""

from __future__ import annotations

import random
from bisect import bisect_left

import pytest

from otelagents.telemetry import semconv
from otelagents.telemetry._metrics._batch import SORT_THRESHOLD, is_burst
from otelagents.telemetry._metrics.engine import Exemplar, HistogramPoint, MetricsEngine

GAP = semconv.METRIC_TIME_PER_OUTPUT_CHUNK
BOUNDS = semconv.CHUNK_GAP_BUCKETS
ATTRS = {semconv.GEN_AI_OPERATION_NAME: "chat"}


def obvious_counts(values: list[float]) -> list[int]:
    counts = [0] * (len(BOUNDS) + 1)
    for v in values:
        counts[bisect_left(BOUNDS, v)] += 1
    return counts


def batch_point(values: list[float], exemplar: Exemplar | None = None) -> HistogramPoint:
    engine = MetricsEngine()
    engine.histogram(GAP).bind(ATTRS).record_many(values, exemplar)
    (point,) = next(s for s in engine.collect() if s.name == GAP).points
    assert isinstance(point, HistogramPoint)
    return point


def one_by_one_point(values: list[float]) -> HistogramPoint:
    engine = MetricsEngine()
    bound = engine.histogram(GAP).bind(ATTRS)
    for v in values:
        bound.record(v)
    (point,) = next(s for s in engine.collect() if s.name == GAP).points
    assert isinstance(point, HistogramPoint)
    return point


def spread(rng: random.Random, n: int) -> list[float]:
    """Chunk gaps as a remote model sends them: log-normal around 30 ms, with bound values mixed in."""
    return [rng.choice(BOUNDS) if rng.random() < 0.2 else rng.lognormvariate(-3.5, 1.0) for _ in range(n)]


CASES = {
    "one value": lambda rng: [0.02],
    "one value on a bound": lambda rng: [BOUNDS[40]],
    "two values in one bucket": lambda rng: [0.0201, 0.0202],
    "two values in neighbouring buckets": lambda rng: [BOUNDS[10], BOUNDS[10] * 1.001],
    "a short batch over many buckets": lambda rng: spread(rng, 31),
    "the shortest sorted batch": lambda rng: spread(rng, 32),
    "a long batch over many buckets": lambda rng: spread(rng, 2000),
    "a long batch below the first bound": lambda rng: [rng.uniform(0, BOUNDS[0]) for _ in range(2000)],
    "a long batch in one middle bucket": lambda rng: [rng.uniform(BOUNDS[50] * 1.0001, BOUNDS[51]) for _ in range(500)],
    "a long batch above the last bound": lambda rng: [rng.uniform(BOUNDS[-1] * 1.0001, 99.0) for _ in range(100)],
    "every bound exactly, twice": lambda rng: [*BOUNDS, *reversed(BOUNDS)],
    "zeros and the +Inf bucket": lambda rng: [0.0] * 40 + [BOUNDS[-1] + 1.0] * 3,
    "integers": lambda rng: [0, 1, 2, 3, 10] * 10,
    # Bursts (a mean within half the first bound): only the values above the first bound are sorted.
    "a burst entirely below the first bound": lambda rng: [rng.uniform(0, BOUNDS[0] / 2) for _ in range(2000)],
    "a burst nearly half above the first bound": lambda rng: shuffled(rng, [
        *(rng.uniform(0, BOUNDS[0] / 100) for _ in range(1100)),
        *(rng.uniform(BOUNDS[0] * 1.0001, BOUNDS[0] * 1.05) for _ in range(900))]),
    "a burst with a few values above the first bound": lambda rng: shuffled(rng, [
        *(rng.uniform(0, BOUNDS[0] / 10) for _ in range(1990)), *(rng.choice(BOUNDS[:20]) for _ in range(10))]),
    "a burst with a sortable number above": lambda rng: shuffled(rng, [
        *(rng.uniform(0, BOUNDS[0] / 20) for _ in range(3000)),
        *(rng.uniform(BOUNDS[0], BOUNDS[6]) for _ in range(40))]),
    "a burst with values on the first bound": lambda rng: shuffled(rng, [BOUNDS[0]] * 100 + [1e-7] * 1900),
    "a burst with one value in the next bucket": lambda rng: [1e-6] * 1999 + [BOUNDS[0] * 1.0001],
    "a burst as the benchmark's server streams it": lambda rng: burst_gaps(rng, 2000),
}


def shuffled(rng: random.Random, values: list[float]) -> list[float]:
    rng.shuffle(values)
    return values


def burst_gaps(rng: random.Random, n: int) -> list[float]:
    """Chunk gaps when several chunks arrive per network read: a few microseconds each, then a wait."""
    return [rng.uniform(0.0005, 0.002) if rng.random() < 0.005 else rng.uniform(2e-6, 8e-6) for _ in range(n)]


@pytest.mark.parametrize("case", [case for case in CASES if case.startswith("a burst")])
def test_the_burst_cases_take_the_burst_path(case: str) -> None:
    values = CASES[case](random.Random(1))
    assert is_burst(values, sum(values), BOUNDS)
    assert not is_burst(values[:SORT_THRESHOLD - 1], sum(values[:SORT_THRESHOLD - 1]), BOUNDS)  # too short


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batch_buckets_equal_the_obvious_per_value_buckets(case: str, seed: int) -> None:
    values = CASES[case](random.Random(seed))
    point = batch_point(values)
    assert list(point.bucket_counts) == obvious_counts(values)
    reference = one_by_one_point(values)
    assert (point.count, point.min, point.max) == (reference.count, reference.min, reference.max)
    assert point.sum == sum(values)  # the batch's own sum, in the batch's order


def test_an_empty_batch_records_nothing() -> None:
    engine = MetricsEngine()
    bound = engine.histogram(GAP).bind(ATTRS)
    bound.record_many([])
    bound.record_many(())
    (snap,) = [s for s in engine.collect() if s.name == GAP]
    (point,) = snap.points
    assert isinstance(point, HistogramPoint)
    assert point.count == 0 and sum(point.bucket_counts) == 0 and all(e is None for e in point.exemplars)


@pytest.mark.parametrize("values", [[0.02] * 100, spread(random.Random(9), 300), [BOUNDS[7]], [3.0, 0.001]])
def test_the_exemplar_goes_to_the_bucket_of_the_largest_value(values: list[float]) -> None:
    point = batch_point(values, Exemplar(trace_id=5, span_id=50))
    kept = [(i, e) for i, e in enumerate(point.exemplars) if e is not None]
    assert len(kept) == 1
    index, exemplar = kept[0]
    assert index == bisect_left(BOUNDS, max(values)) and exemplar.value == max(values)


def test_batches_accumulate_into_the_same_counts() -> None:
    rng = random.Random(11)
    batches = [spread(rng, 500), [0.0] * 50, [BOUNDS[3]] * 2, spread(rng, 10), []]
    engine = MetricsEngine()
    bound = engine.histogram(GAP).bind(ATTRS)
    for batch in batches:
        bound.record_many(batch)
    (point,) = next(s for s in engine.collect() if s.name == GAP).points
    assert isinstance(point, HistogramPoint)
    everything = [v for batch in batches for v in batch]
    assert list(point.bucket_counts) == obvious_counts(everything)
    assert (point.count, point.min, point.max) == (len(everything), min(everything), max(everything))


@pytest.mark.parametrize("size", [5, 40, 2000])
def test_bad_values_in_a_batch_are_dropped_and_the_rest_counted(size: int) -> None:
    rng = random.Random(size)
    good = spread(rng, size)
    bad: list[object] = [float("nan"), -0.5, float("inf"), "0.1", None]
    mixed: list[object] = [*good]
    for value in bad:
        mixed.insert(rng.randrange(len(mixed) + 1), value)
    point = batch_point(mixed)  # type: ignore[arg-type]
    assert list(point.bucket_counts) == obvious_counts(good)
    assert (point.count, point.min, point.max) == (len(good), min(good), max(good))
    assert point.sum == pytest.approx(sum(good))


@pytest.mark.parametrize("bad", [-1e-9, -0.5, float("nan"), "0.1", None])
def test_a_bad_value_in_a_burst_is_dropped_and_the_rest_counted(bad: object) -> None:
    good = burst_gaps(random.Random(5), 1000)
    mixed: list[object] = [*good[:500], bad, *good[500:]]
    point = batch_point(mixed)  # type: ignore[arg-type]
    assert list(point.bucket_counts) == obvious_counts(good)
    assert (point.count, point.min, point.max) == (len(good), min(good), max(good))
