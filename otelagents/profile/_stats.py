"""Exact summaries of latency samples: percentiles over every recorded value, never histogram buckets.

Percentiles interpolate linearly between the two nearest ranks, as ``numpy.percentile`` does by default
(and so as vLLM's ``bench serve`` and GenAI-Perf report them): with one sample every percentile is that
sample; with none the summary is empty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

PERCENTILES: tuple[int, ...] = (50, 90, 95, 99)
SUMMARY_KEYS: tuple[str, ...] = ("count", "mean", "min", "p50", "p90", "p95", "p99", "max")


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``ordered`` (sorted ascending, not empty), interpolated linearly."""
    if not ordered:
        raise ValueError("percentile of no samples: check for an empty sequence first")
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile is between 0 and 100, not {q!r}")
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    weight = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * weight


def summarize(values: Sequence[float]) -> dict[str, float | int | None]:
    """``count``, ``mean``, ``min``, ``p50``/``p90``/``p95``/``p99`` and ``max`` of ``values`` (seconds).

    With no values the count is 0 and every other figure is None (JSON ``null``)."""
    if not values:
        return {key: (0 if key == "count" else None) for key in SUMMARY_KEYS}
    ordered = sorted(values)
    summary: dict[str, float | int | None] = {"count": len(ordered), "mean": math.fsum(ordered) / len(ordered),
                                              "min": ordered[0]}
    for q in PERCENTILES:
        summary[f"p{q}"] = percentile(ordered, q)
    summary["max"] = ordered[-1]
    return summary
