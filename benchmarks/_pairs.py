"""Paired runs: the method behind every "full / off" ratio with a target.

On a shared 2-core machine the time one streamed run takes swings by ±30 % from one run to the next (other
processes, the model server on the other core, CPU frequency, the periodic exports), in wall time and in the
process's CPU time alike. Longer measurements do not cancel that: a slow second lands in whichever variant
is measured then. What does is pairing at the finest grain: each round runs every variant **once**, back to
back, the order alternating between rounds (A B, B A, A B, ...), and the ratio is computed per round, then
medianed over many rounds with a distribution-free 95 % confidence interval (``median_ci``). Two runs 20 ms
apart see the same machine.

The garbage collector stays on (what a run allocates is part of its cost), but the objects alive after the
warm-up are frozen (``gc.freeze``), so a full collection does not walk the whole benchmark's heap inside
whichever run triggers it.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from benchmarks._stats import Sample, median, median_ci


@dataclass
class PairedResult:
    """One ``Sample`` (one run) per variant per round; ``rounds`` rounds."""

    rounds: int
    samples: dict[str, list[Sample]] = field(default_factory=dict)

    def has(self, *keys: str) -> bool:
        return all(self.samples.get(key) for key in keys)

    def per_round(self, numerator: str, denominator: str, *, cpu: bool = False) -> list[float]:
        """Per-round ratios: events/s (or, with ``cpu``, events per CPU second) of ``numerator`` over
        ``denominator``."""
        pairs = zip(self.samples[numerator], self.samples[denominator], strict=True)
        if cpu:
            return [b.cpu_us_per_event / a.cpu_us_per_event for a, b in pairs if a.cpu_seconds > 0]
        return [a.rate / b.rate for a, b in pairs if b.rate > 0]

    def ratio(self, numerator: str, denominator: str, *, cpu: bool = False) -> tuple[float, float, float]:
        """(median, CI low, CI high) of the per-round ratios; nans when either variant was not measured."""
        if not self.has(numerator, denominator):
            return math.nan, math.nan, math.nan
        return median_ci(self.per_round(numerator, denominator, cpu=cpu))

    def cost_us_per_event(self, with_telemetry: str, without: str, *, cpu: bool = False) -> float:
        """Median over rounds of (µs per event with - µs per event without), wall or process CPU time."""
        if not self.has(with_telemetry, without):
            return math.nan
        pairs = zip(self.samples[with_telemetry], self.samples[without], strict=True)
        if cpu:
            return median([a.cpu_us_per_event - b.cpu_us_per_event for a, b in pairs])
        return median([a.us_per_event - b.us_per_event for a, b in pairs])

    def to_json(self) -> dict[str, Any]:
        return {"rounds": self.rounds,
                "samples": {k: [[s.events, s.seconds, s.cpu_seconds] for s in v] for k, v in self.samples.items()}}


async def run_pairs(variants: Mapping[str, Any], rounds: int, *,
                    progress: Callable[[str], None] | None = None) -> PairedResult:
    """Measure ``variants`` (objects with ``async run() -> events``, optional ``enter``/``exit`` switched
    outside the timing) in ``rounds`` interleaved rounds of one run each, after one warm-up run each."""
    result = PairedResult(rounds=rounds, samples={key: [] for key in variants})
    order = list(variants.items())
    for _key, variant in order:
        await _timed(variant)  # warm-up: imports, connection, first-use caches
    gc.collect()
    gc.freeze()
    try:
        for round_number in range(rounds):
            for key, variant in (order if round_number % 2 == 0 else order[::-1]):
                result.samples[key].append(await _timed(variant))
            if progress is not None and (round_number + 1) % max(1, rounds // 5) == 0:
                progress(f"paired runs: round {round_number + 1}/{rounds}")
    finally:
        gc.unfreeze()
    return result


async def _timed(variant: Any) -> Sample:
    enter, exit_ = getattr(variant, "enter", None), getattr(variant, "exit", None)
    if enter is not None:
        enter()
    try:
        cpu, start = time.process_time(), time.perf_counter()
        events = await variant.run()
        return Sample(events, time.perf_counter() - start, time.process_time() - cpu)
    finally:
        if exit_ is not None:
            exit_()


def format_ratio(ratio: tuple[float, float, float]) -> str:
    """``0.972x [0.961, 0.985]``: the median and its 95 % confidence interval."""
    median, low, high = ratio
    if math.isnan(median):
        return "n/a"
    return f"{median:.3f}x [{low:.3f}, {high:.3f}]"
