"""Value checks and batch bucketing for the metrics engine (``BoundHistogram.record_many``).

A batch's bucket counts come one of three ways, all equal to one ``bisect_left`` per value over the bounds
(Prometheus ``le``: a value on a bound is in that bound's bucket):

* a short batch: one bisection per value;
* a long batch: sorted once, then one bisection per bucket between its min's and its max's;
* a long batch whose mean is at most half the first bound (a stream's chunk gaps when most chunks arrive in
  bursts, several to a network read): at least half of it is in the first bucket (Markov's inequality),
  usually nearly all, so only the values above the first bound are sorted. The others are only counted,
  in passes that read the values in order: sorting them all would cost more, and reads the values in an
  order the memory caches cannot follow. At worst (half above) it costs about what sorting all would.

A stream's chunk gaps come as their arrival times (``BoundHistogram.record_gaps``): the compiled helper
(``gap_buckets``, see ``otelagents.telemetry._compiled``) counts them in one pass with no Python object per
gap; without it ``gaps_of`` makes the gaps and they go through ``record_many``. Both give the same buckets,
count, min, max and stalls (the sum may differ in its last bits: Python 3.12+ sums floats compensated).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from operator import sub
from typing import Any

SORT_THRESHOLD = 32  # batches this long are counted by sorting
_BURST_MEAN = 0.5  # of the first bound: at or below it, a long batch is counted as a burst (see above)


def gaps_of(times: Any, threshold: float) -> tuple[list[float], int]:
    """(the gaps between consecutive ``times``, how many are longer than ``threshold``): the pure-Python path
    of ``record_gaps``. The gaps are sorted in place when a stall is possible (the stalls are then found by
    bisection, and ``record_many`` finds the sorted gaps in order: a linear pass, not a second sort)."""
    if not isinstance(times, (list, tuple, array)):
        times = list(times)  # a Stamps: no slices
    gaps = list(map(sub, times[1:], times))  # map stops with the shorter: no second copy
    stalls = 0
    if len(times) >= 2 and times[-1] - times[0] > threshold:  # else no gap is longer than the whole window
        gaps.sort()
        stalls = len(gaps) - bisect_right(gaps, threshold)
    return gaps, stalls


def as_number(value: object) -> float | None:
    """``value`` as an int or float, or None when it is not a finite number."""
    cls = value.__class__
    if cls is not float and cls is not int:
        if isinstance(value, (str, bytes)):  # "1.5" is a bug at the call site, not a measurement
            return None
        try:
            value = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
    if value - value != 0:  # type: ignore[operator]  # NaN and +/-inf
        return None
    return value  # type: ignore[return-value]


def count_buckets(values: Sequence[float], ordered: list[float] | None, bounds: tuple[float, ...], first: int,
                  last: int) -> list[int]:
    """How many ``values`` fall in each bucket ``first`` .. ``last`` (those of their min and max). Long
    batches come ``ordered`` (sorted once) and are bisected per bucket: same buckets, several times faster."""
    per_bucket = [0] * (last - first + 1)
    if ordered is None:
        for v in values:
            per_bucket[bisect_left(bounds, v, first, last) - first] += 1
        return per_bucket
    start = 0
    for i in range(first, last):
        end = bisect_right(ordered, bounds[i], start)
        per_bucket[i - first] = end - start
        start = end
    per_bucket[-1] = len(ordered) - start
    return per_bucket


def is_burst(values: Sequence[float], total: float, bounds: tuple[float, ...]) -> bool:
    """A long batch of floats whose mean is at most half the first bound (see the module)."""
    return (len(values) >= SORT_THRESHOLD and total.__class__ is float
            and 0.0 <= total <= len(values) * bounds[0] * _BURST_MEAN)


def burst_buckets(values: Sequence[float], bounds: tuple[float, ...]) -> tuple[float, float, int, list[int] | None]:
    """(min, max, last bucket, per-bucket counts from bucket 0, or None when all are in bucket 0) of a burst.

    The caller checks the min before trusting the rest (a negative value makes it negative)."""
    first_bound = bounds[0]
    above = [v for v in values if v > first_bound]
    lo = min(values)
    if not above:
        return lo, max(values), 0, None
    ordered = sorted(above) if len(above) >= SORT_THRESHOLD else None
    hi = ordered[-1] if ordered else max(above)
    last = bisect_left(bounds, hi)
    per_bucket = count_buckets(above, ordered, bounds, 1, last) if last > 1 else [len(above)]
    return lo, hi, last, [len(values) - len(above), *per_bucket]
