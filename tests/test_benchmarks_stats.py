"""The statistics behind the benchmark table's ratios: paired rounds, medians and their confidence intervals."""

from __future__ import annotations

import asyncio
import math
import random

from benchmarks._pairs import PairedResult, format_ratio, run_pairs
from benchmarks._stats import Sample, median_ci


def test_median_ci_brackets_the_median_with_order_statistics() -> None:
    assert median_ci([3.0, 1.0, 2.0]) == (2.0, 1.0, 3.0)  # few values: the whole range
    median, low, high = median_ci([float(i) for i in range(101)])
    assert (median, low, high) == (50.0, 40.0, 60.0)  # 50 -/+ 0.98 sqrt(101), rounded outwards
    assert all(math.isnan(x) for x in median_ci([]))


def test_median_ci_covers_the_true_median_about_95_percent_of_the_time() -> None:
    rng = random.Random(7)
    trials = 400
    covered = sum(low <= 1.0 <= high for _, low, high in
                  (median_ci([rng.lognormvariate(0.0, 0.5) for _ in range(61)]) for _ in range(trials)))
    assert 0.90 * trials <= covered <= 0.99 * trials, covered


def test_paired_ratios_are_per_round_then_medianed() -> None:
    result = PairedResult(rounds=3)
    # Each round: both variants ran on the same (slow or fast) machine; "full" takes 10 % more wall and CPU.
    result.samples = {
        "off": [Sample(1000, 0.010, 0.008), Sample(1000, 0.030, 0.024), Sample(1000, 0.020, 0.016)],
        "full": [Sample(1000, 0.011, 0.0088), Sample(1000, 0.033, 0.0264), Sample(1000, 0.022, 0.0176)],
    }
    median, low, high = result.ratio("full", "off")
    assert math.isclose(median, 1 / 1.1) and math.isclose(low, 1 / 1.1) and math.isclose(high, 1 / 1.1)
    assert math.isclose(result.ratio("full", "off", cpu=True)[0], 1 / 1.1)
    assert math.isclose(result.cost_us_per_event("full", "off"), 2.0)  # µs per event: 22 - 20 (round 3)
    assert math.isnan(result.ratio("full", "missing")[0])
    assert format_ratio(result.ratio("full", "off")) == "0.909x [0.909, 0.909]"
    assert format_ratio((math.nan, math.nan, math.nan)) == "n/a"


class _Counting:
    """A variant whose runs are recorded in order, to check the interleaving."""

    def __init__(self, key: str, log: list[str]) -> None:
        self.key, self.log = key, log

    async def run(self) -> int:
        self.log.append(self.key)
        await asyncio.sleep(0)
        return 10


def test_run_pairs_alternates_the_order_and_warms_each_variant_up() -> None:
    log: list[str] = []
    variants = {"a": _Counting("a", log), "b": _Counting("b", log)}
    result = asyncio.run(run_pairs(variants, 3))
    assert log == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-up, then A B, B A, A B
    assert [len(result.samples[k]) for k in ("a", "b")] == [3, 3]
    assert all(s.events == 10 and s.seconds >= 0 for s in result.samples["a"])
