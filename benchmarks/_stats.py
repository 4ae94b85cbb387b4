"""Samples and medians shared by the benchmark sections."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    """One measurement: ``events`` delivered in ``seconds`` of wall time, using ``cpu_seconds`` of the
    benchmark process's CPU (all its threads: the export threads count, other processes do not)."""

    events: int
    seconds: float
    cpu_seconds: float = float("nan")

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def us_per_event(self) -> float:
        return self.seconds / self.events * 1e6 if self.events else float("nan")

    @property
    def cpu_us_per_event(self) -> float:
        return self.cpu_seconds / self.events * 1e6 if self.events else float("nan")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratios(numerators: Sequence[Sample], denominators: Sequence[Sample]) -> list[float]:
    """Rate ratios computed per round (pairs measured side by side), so slow phases of the machine cancel."""
    return [a.rate / b.rate for a, b in zip(numerators, denominators, strict=True) if b.rate > 0]


def median_ci(values: Sequence[float]) -> tuple[float, float, float]:
    """The median of ``values`` and a distribution-free 95 % confidence interval for it: the order statistics
    ``n/2 -/+ 0.98 sqrt(n)`` (the median's rank is binomial(n, 1/2)); (nan, nan, nan) when empty. With fewer
    than 6 values the interval is the whole range."""
    import math

    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return math.nan, math.nan, math.nan
    half = 0.98 * math.sqrt(n)
    low = max(0, math.floor(n / 2 - half))
    high = min(n - 1, math.ceil(n / 2 + half) - 1)
    return statistics.median(ordered), ordered[low], ordered[high]
