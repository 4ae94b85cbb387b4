"""Quantiles, exact and from histogram buckets: one implementation for the CLI's reports and the benchmarks."""

from __future__ import annotations

import math
from collections.abc import Sequence


def nearest_rank(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile of ``values`` by the nearest-rank method: the ``ceil(q * n)``-th smallest (an observed
    value, the one a bucket quantile estimates); None if there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def bucket_quantile(q: float, bounds: Sequence[float], counts: Sequence[float]) -> float | None:
    """The ``q`` quantile estimated from histogram buckets, as Prometheus' ``histogram_quantile`` does: linear
    interpolation inside the bucket that holds the rank, from 0 in the lowest one; in the ``+Inf`` bucket the
    highest finite bound is all that is known. ``counts`` per bucket (not cumulative), ``len(bounds) + 1``
    long, the last one ``+Inf``. None when the histogram is empty."""
    total = sum(counts)
    if total <= 0:
        return None
    rank = q * total
    seen = 0.0
    for i, n in enumerate(counts):
        if n and seen + n >= rank:
            if i >= len(bounds):
                return bounds[-1]
            lower = bounds[i - 1] if i > 0 else 0.0
            return lower + (bounds[i] - lower) * (rank - seen) / n
        seen += n
    return bounds[-1]
