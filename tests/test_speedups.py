"""The compiled helpers (``otelagents._speedups``) against the pure-Python path they stand in for.

``Stamps`` keeps a stream's chunk arrival times as C doubles; ``gap_buckets`` turns them into the chunk-gap
histogram's update in one pass. The reference is the pure-Python path (``gaps_of`` + ``record_many``, itself
checked against one ``bisect_left`` per value in test_metrics_bucketing.py): same buckets, count, min, max
and stalls for any times, and None (the Python path decides) for anything the C code does not handle.
``use_compiled`` switches the two at run time; ``OTELAGENTS_NO_EXTENSIONS=1`` turns the compiled one off.

Under ``CI=true`` the extension must have been built (CI has a compiler): a build that silently fell back
to pure Python would leave the compiled path untested.
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
from array import array
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otelagents import Agent
from otelagents.telemetry import _compiled
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics._batch import gaps_of
from otelagents.telemetry._metrics.engine import Exemplar, HistogramPoint, MetricsEngine
from otelagents.testing import ScriptedModel
from tests.telemetry_helpers import make_rig, points_with, run_to_end

GAP = sc.METRIC_TIME_PER_OUTPUT_CHUNK
BOUNDS = sc.CHUNK_GAP_BUCKETS
ATTRS = {sc.GEN_AI_OPERATION_NAME: "chat"}

if not _compiled.compiled_available():
    if os.environ.get("CI") == "true":
        pytest.fail("otelagents._speedups was not built: `pip install -e .` needs gcc and the Python headers "
                    "(Debian: build-essential python3-dev)", pytrace=False)
    pytest.skip("otelagents._speedups was not built (no C compiler at install time): the pure-Python path "
                "is tested everywhere else", allow_module_level=True)

from otelagents._speedups import Stamps, gap_buckets  # noqa: E402  (after the skip: it may not exist)


@pytest.fixture
def python_path() -> Iterator[None]:
    assert _compiled.use_compiled(False) is False
    try:
        yield
    finally:
        assert _compiled.use_compiled(True) is True


def stamps_of(times: list[float]) -> Stamps:
    stamps = Stamps()
    for t in times:
        stamps.append(t)
    return stamps


def arrival_times(rng: random.Random, n: int, start: float = 1234.5) -> list[float]:
    """Ascending perf_counter()-like readings: bursts (several chunks to a read), typical gaps, stalls,
    gaps exactly on a bucket bound and repeated times."""
    times, now = [], start
    for _ in range(n):
        pick = rng.random()
        if pick < 0.3:
            now += rng.uniform(0, 5e-5)
        elif pick < 0.4:
            now += rng.choice(BOUNDS)
        elif pick < 0.45:
            pass  # two chunks at the same instant: a zero gap
        elif pick < 0.47:
            now += rng.uniform(0.5, 30.0)  # a stall
        else:
            now += rng.lognormvariate(-3.5, 1.0)
        times.append(now)
    return times


def point_of(engine: MetricsEngine) -> HistogramPoint:
    (point,) = next(s for s in engine.collect() if s.name == GAP).points
    assert isinstance(point, HistogramPoint)
    return point


def recorded(times: Any, threshold: float, exemplar: Exemplar | None = None) -> tuple[HistogramPoint, int]:
    engine = MetricsEngine()
    stalls = engine.histogram(GAP).bind(ATTRS).record_gaps(times, threshold, exemplar)
    return point_of(engine), stalls


def reference(times: list[float], threshold: float, exemplar: Exemplar | None = None) -> tuple[HistogramPoint, int]:
    engine = MetricsEngine()
    gaps, stalls = gaps_of(times, threshold)
    engine.histogram(GAP).bind(ATTRS).record_many(gaps, exemplar)
    return point_of(engine), stalls


def assert_same(got: tuple[HistogramPoint, int], want: tuple[HistogramPoint, int]) -> None:
    (a, stalls_a), (b, stalls_b) = got, want
    assert a.bucket_counts == b.bucket_counts
    assert (a.count, a.min, a.max, stalls_a) == (b.count, b.min, b.max, stalls_b)
    assert a.sum == pytest.approx(b.sum, rel=1e-12, abs=1e-15)
    assert [(e.value, e.trace_id) if e else None for e in a.exemplars] == \
        [(e.value, e.trace_id) if e else None for e in b.exemplars]


# --- gap_buckets against the pure-Python path -------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 31, 32, 2000])
@pytest.mark.parametrize("container", ["list", "tuple", "array", "stamps"])
def test_every_container_gives_what_the_python_path_gives(n: int, container: str) -> None:
    times = arrival_times(random.Random(n), n)
    made: Any = {"list": list, "tuple": tuple, "array": lambda t: array("d", t), "stamps": stamps_of}[container]
    exemplar = Exemplar(trace_id=7, span_id=70)
    assert_same(recorded(made(times), 0.25, exemplar), reference(times, 0.25, exemplar))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 1e-3), st.sampled_from(BOUNDS), st.floats(0, 100), st.just(0.0)),
                min_size=1, max_size=300),
       st.floats(0.0, 50.0))
def test_any_ascending_times(gaps: list[float], threshold: float) -> None:
    times, now = [], 1000.0
    for gap in gaps:
        now += gap
        times.append(now)
    summary = gap_buckets(times, BOUNDS, threshold)
    if len(times) < 2:
        assert summary is None
        return
    assert_same(recorded(stamps_of(times), threshold), reference(times, threshold))
    assert summary is not None and summary[4] == sum(1 for g in gaps_of(times, threshold)[0] if g > threshold)


def test_the_summary_fields() -> None:
    # gaps 0.001 (on the first bound: bucket 0), 0.002 (bucket 1), 0.497 (bucket 3), 1.5 (+Inf)
    assert gap_buckets([0.0, 0.001, 0.003, 0.5, 2.0], (0.001, 0.002, 0.01, 1.0), 0.4) == \
        (4, 2.0, 0.001, 1.5, 2, 0, [1, 1, 0, 1, 1])
    # all in one bucket, not the first: the counts start at that bucket
    assert gap_buckets([0.0, 0.5, 1.0], (0.001, 0.002, 0.01, 1.0), 10.0) == (2, 1.0, 0.5, 0.5, 0, 3, [2])


@pytest.mark.parametrize("times", [
    pytest.param([], id="no time"),
    pytest.param([1.0], id="one time"),
    pytest.param([1, 2, 3], id="ints"),
    pytest.param([1.0, 0.5, 2.0], id="a negative gap"),
    pytest.param([1.0, math.nan, 2.0], id="nan"),
    pytest.param([1.0, math.inf], id="inf"),
    pytest.param(array("f", [1.0, 2.0]), id="float32 buffer"),
    pytest.param(b"\x00" * 16, id="bytes"),
    pytest.param(iter([1.0, 2.0]), id="an iterator"),
])
def test_what_the_python_path_decides(times: Any) -> None:
    assert gap_buckets(times, BOUNDS, 1.0) is None


@pytest.mark.parametrize("times, expected", [
    ([1.0, 0.5, 2.0], (1, 1.5)),  # the negative gap is dropped, the other recorded
    ([1, 2, 4], (2, 3.0)),  # ints are numbers all the same
    ([1.0, math.inf], (0, 0.0)),
])
def test_record_gaps_falls_back_to_python_for_those(times: list[float], expected: tuple[int, float]) -> None:
    engine = MetricsEngine()
    engine.histogram(GAP).bind(ATTRS).record_gaps(times, 1.0)
    points = [p for s in engine.collect() if s.name == GAP for p in s.points]
    assert (sum(p.count for p in points), sum(p.sum for p in points)) == expected  # type: ignore[union-attr]


def test_more_bounds_than_the_c_code_handles_go_to_python() -> None:
    assert gap_buckets([0.0, 1.0], tuple(float(i) for i in range(1025)), 1.0) is None
    assert gap_buckets([0.0, 1.0], tuple(float(i) for i in range(1024)), 1.0) is not None


def test_bad_arguments_are_type_errors() -> None:
    with pytest.raises(TypeError, match="bounds must be a tuple"):
        gap_buckets([0.0, 1.0], [0.1, 1.0], 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes 3 arguments"):
        gap_buckets([0.0, 1.0], (0.1,))  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        gap_buckets([0.0, 1.0], (0.1,), "soon")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        gap_buckets([0.0, 1.0], ("a",), 1.0)  # type: ignore[arg-type]


# --- Stamps ---------------------------------------------------------------------------------------------------
def test_stamps_is_a_read_only_sequence_of_the_times_appended() -> None:
    stamps = Stamps()
    assert len(stamps) == 0 and list(stamps) == [] and "0 times" in repr(stamps)
    times = arrival_times(random.Random(3), 1000)  # past the first capacity (256): it grows
    for t in times:
        stamps.append(t)
    assert len(stamps) == 1000 and list(stamps) == times
    assert stamps[0] == times[0] and stamps[-1] == times[-1] and stamps[-1000] == times[0]
    with pytest.raises(IndexError):
        stamps[1000]
    with pytest.raises(IndexError):
        stamps[-1001]
    stamps.append(3)  # an int is a time too, stored as a float
    assert stamps[-1] == 3.0 and isinstance(stamps[-1], float)


def test_stamps_refuses_what_is_not_a_time() -> None:
    stamps = Stamps()
    with pytest.raises(TypeError):
        stamps.append("now")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes no arguments"):
        Stamps([1.0])  # type: ignore[call-arg]
    assert len(stamps) == 0


def test_stamps_buffer_is_the_doubles_and_holds_appends_while_open() -> None:
    stamps = stamps_of([1.0, 2.5])
    view = memoryview(stamps)
    assert (view.format, view.itemsize, view.readonly, view.tolist()) == ("d", 8, True, [1.0, 2.5])
    with pytest.raises(BufferError, match="release it"):
        stamps.append(3.0)
    view.release()
    stamps.append(3.0)
    assert array("d", stamps) == array("d", [1.0, 2.5, 3.0])
    assert memoryview(Stamps()).tolist() == []


# --- switching the paths ----------------------------------------------------------------------------------------
def test_use_compiled_switches_both_helpers(python_path: None) -> None:
    assert not _compiled.in_use() and _compiled.gap_buckets is None
    assert isinstance(_compiled.new_stamps(), array)


async def run_gaps(threshold: float) -> tuple[Any, HistogramPoint, float]:
    rig = make_rig(stall_threshold_s=threshold)
    answer = " ".join(f"w{i}" for i in range(40))
    agent = Agent("timed", model=ScriptedModel([answer], delta_delay=0.002))
    await run_to_end(agent, "go", rig.config())
    (point,) = points_with(rig.engine, GAP, {})
    assert isinstance(point, HistogramPoint)
    stalls = sum(p.value for p in points_with(rig.engine, sc.METRIC_STALLS, {}))  # type: ignore[union-attr]
    return rig, point, stalls


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
async def test_a_run_records_its_gaps_and_stalls_on_either_path(compiled: bool, python_path: None) -> None:
    assert _compiled.use_compiled(compiled) is compiled
    _, point, stalls = await run_gaps(threshold=0.0015)  # 2 ms between deltas: every gap is a stall
    assert point.count == 39 and point.min >= 0.0015 and stalls == 39
    _, point, stalls = await run_gaps(threshold=5.0)
    assert point.count == 39 and stalls == 0


def test_no_extensions_environment_variable_turns_the_compiled_path_off() -> None:
    code = ("from otelagents.telemetry import _compiled as c; "
            "print(c.in_use(), c.compiled_available(), type(c.new_stamps()).__name__)")
    for value, expected in (("1", "False True array"), ("true", "False True array"), ("0", "True True Stamps"),
                            ("", "True True Stamps")):
        env = {**os.environ, "OTELAGENTS_NO_EXTENSIONS": value}
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                              check=True)
        assert done.stdout.strip() == expected, (value, done.stderr)
