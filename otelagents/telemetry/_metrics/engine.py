"""A small, fast, thread-safe metrics aggregation engine.

Why it exists: an OpenTelemetry SDK ``Histogram.record`` costs 25-35 µs on this class of machine, and
otelagents records one value per streamed chunk. This engine aggregates in place (a ``bisect`` into a
bucket-count list under a lock), and exporters read consistent cumulative snapshots with :meth:`collect`.

Rules, identical for every instrument:

* Instruments come from :class:`~otelagents.telemetry.semconv.MetricSpec` (name, kind, unit, buckets,
  allowed attribute keys). Attribute keys that the spec does not allow are dropped, as are values that
  are not ``str``/``int``/``float``/``bool``: the series set stays low-cardinality by construction.
* At most ``max_series_per_metric`` distinct attribute sets per metric. Further sets fold into one overflow
  series whose only attribute is ``otel.metric.overflow=True`` (as the OpenTelemetry SDK does); a warning is
  logged once per metric. The overflow series does not count against the bound.
* The hot path never raises for a bad value. Histograms ignore NaN, infinite, negative and non-numeric
  values (every histogram here measures a duration, a count or a rate). Counters ignore such amounts too
  (they are monotonic). Gauges ignore NaN, infinite and non-numeric values.
* A bucket holds the values ``bounds[i-1] < v <= bounds[i]`` (Prometheus ``le`` semantics: a value equal
  to a bound lands in that bound's bucket); the last bucket is ``+Inf``.
* Exemplars: one per histogram bucket (the last one recorded wins), one per counter series.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

from otelagents.telemetry import _compiled, semconv
from otelagents.telemetry._metrics import _batch
from otelagents.telemetry._metrics._batch import SORT_THRESHOLD, as_number, burst_buckets, count_buckets, is_burst
from otelagents.telemetry._metrics._lookup import check_buckets, find_instrument
from otelagents.telemetry._metrics.points import (
    AttrValue,
    Exemplar,
    ExemplarSample,
    HistogramPoint,
    MetricSnapshot,
    NumberPoint,
)
from otelagents.telemetry.semconv import MetricSpec

__all__ = [  # the snapshot types are re-exported from .points for the exporters
    "OVERFLOW_ATTRIBUTE",
    "AttrValue",
    "BoundCounter",
    "BoundHistogram",
    "Counter",
    "Exemplar",
    "ExemplarSample",
    "Gauge",
    "Histogram",
    "HistogramPoint",
    "MetricSnapshot",
    "MetricsEngine",
    "NumberPoint",
    "find_instrument",
]

logger = logging.getLogger(__name__)

Attributes = Mapping[str, AttrValue]
SeriesKey = tuple[tuple[str, AttrValue], ...]
# (value, trace_id, span_id, time_unix_nano): stored as a tuple on the hot path, a dataclass in snapshots.
_RawExemplar = tuple[float, int, int, int]

OVERFLOW_ATTRIBUTE = "otel.metric.overflow"
_OVERFLOW_KEY: SeriesKey = ((OVERFLOW_ATTRIBUTE, True),)
_NO_ATTRIBUTES: Attributes = MappingProxyType({})
_ATTR_TYPES = (str, int, float, bool)
_INF = math.inf


def _sample(raw: _RawExemplar | None) -> ExemplarSample | None:
    return None if raw is None else ExemplarSample(*raw)


class BoundHistogram:
    """A histogram series with its attributes resolved once; ``record`` is the per-chunk hot path."""

    __slots__ = (
        "_bounds",
        "_count",
        "_counts",
        "_exemplars",
        "_lock",
        "_max",
        "_min",
        "_sum",
        "attributes",
    )

    def __init__(self, attributes: Attributes, bounds: tuple[float, ...], lock: threading.Lock) -> None:
        self.attributes = attributes
        self._bounds = bounds
        self._lock = lock
        self._counts = [0] * (len(bounds) + 1)
        self._count = 0
        self._sum: float = 0.0
        self._min = _INF
        self._max = -_INF
        self._exemplars: list[_RawExemplar | None] = [None] * (len(bounds) + 1)

    def record(self, value: float, exemplar: Exemplar | None = None) -> None:
        cls = value.__class__
        if cls is not float and cls is not int:
            value = as_number(value)  # type: ignore[assignment]
            if value is None:
                return
        if not 0.0 <= value < _INF:  # also rejects NaN
            return
        i = bisect_left(self._bounds, value)
        lock = self._lock
        lock.acquire()  # explicit acquire/release: half the cost of a `with` block here
        try:
            self._counts[i] += 1
            self._count += 1
            self._sum += value
            if value < self._min:  # noqa: PLR1730 (an `if` is cheaper than a min() call here)
                self._min = value
            if value > self._max:  # noqa: PLR1730
                self._max = value
            if exemplar is not None:
                self._exemplars[i] = (value, exemplar.trace_id, exemplar.span_id, time.time_ns())
        finally:
            lock.release()

    def record_many(self, values: Sequence[float], exemplar: Exemplar | None = None) -> None:
        """Record a batch under one lock acquisition.

        ``exemplar`` (if given) is attached to the bucket of the largest value of the batch: for a stream's
        chunk gaps that is the slowest gap, the one worth clicking through to its trace.
        """
        if values.__class__ is not list and values.__class__ is not tuple:
            values = list(values)  # a generator would be exhausted by the first pass
        bounds = self._bounds
        burst: tuple[float, float, int, list[int] | None] | None = None
        try:
            total = sum(values)
            if is_burst(values, total, bounds):  # most of it in the first bucket: see _batch
                burst = burst_buckets(values, bounds)
                lo, hi = burst[0], burst[1]
            else:
                ordered = sorted(values) if len(values) >= SORT_THRESHOLD else None  # sorted: min and max for free
                lo, hi = (ordered[0], ordered[-1]) if ordered else (min(values), max(values))
            # A finite int/float total with a non-negative minimum means every value is a finite,
            # non-negative int or float (NaN and inf would poison the total).
            fast = (total.__class__ is float or total.__class__ is int) and lo >= 0 and total < _INF
        except (TypeError, ValueError):  # mixed types, or an empty batch
            fast = False
        if fast and burst is not None:
            first, last, per_bucket = 0, burst[2], burst[3]
        else:
            if not fast:
                values = [v for v in map(as_number, values) if v is not None and v >= 0]
                if not values:
                    return
                ordered = sorted(values) if len(values) >= SORT_THRESHOLD else None
                total, lo, hi = sum(values), min(values), max(values)
            first, last = bisect_left(bounds, lo), bisect_left(bounds, hi)
            per_bucket = count_buckets(values, ordered, bounds, first, last) if first != last else None
        self._merge(len(values), total, lo, hi, first, last, per_bucket, exemplar)

    def record_gaps(self, times: _compiled.Times | Sequence[float], threshold: float,
                    exemplar: Exemplar | None = None) -> int:
        """Record the gap between each two consecutive ``times`` (a stream's chunk arrivals: ascending
        ``perf_counter()`` readings in a ``Stamps``, an ``array('d')`` or a list) and return how many gaps
        are longer than ``threshold`` (the stalls). Same figures as ``record_many`` of the gaps; with the
        compiled helper (``otelagents._speedups``) it takes one pass and no Python object per gap. The
        exemplar goes to the longest gap's bucket."""
        compiled = _compiled.gap_buckets
        summary = compiled(times, self._bounds, threshold) if compiled is not None else None
        if summary is None:  # no compiled helper, or values it leaves to Python (see _batch.gaps_of)
            gaps, stalls = _batch.gaps_of(times, threshold)
            self.record_many(gaps, exemplar)
            return stalls
        count, total, lo, hi, stalls, first, per_bucket = summary
        self._merge(count, total, lo, hi, first, first + len(per_bucket) - 1, per_bucket, exemplar)
        return stalls

    def _merge(self, count: int, total: float, lo: float, hi: float, first: int, last: int,
               per_bucket: list[int] | None, exemplar: Exemplar | None) -> None:
        """Add a batch's figures under the lock; ``per_bucket`` counts buckets ``first`` .. ``last`` (None: all
        ``count`` values are in bucket ``first``)."""
        counts, lock = self._counts, self._lock
        lock.acquire()
        try:
            if per_bucket is None:  # the whole batch in one bucket: no per-value work at all
                counts[first] += count
            else:
                for i, n in enumerate(per_bucket, first):
                    counts[i] += n
            self._count += count
            self._sum += total
            self._min = min(self._min, lo)
            self._max = max(self._max, hi)
            if exemplar is not None:
                self._exemplars[last] = (hi, exemplar.trace_id, exemplar.span_id, time.time_ns())
        finally:
            lock.release()

    def _point(self) -> HistogramPoint:  # caller holds the lock
        empty = self._count == 0
        return HistogramPoint(
            attributes=self.attributes, bounds=self._bounds, bucket_counts=tuple(self._counts),
            count=self._count, sum=self._sum, min=math.nan if empty else self._min,
            max=math.nan if empty else self._max, exemplars=tuple(map(_sample, self._exemplars)),
        )


class BoundCounter:
    """A counter series with its attributes resolved once."""

    __slots__ = ("_exemplar", "_lock", "_value", "attributes")

    def __init__(self, attributes: Attributes, lock: threading.Lock) -> None:
        self.attributes = attributes
        self._lock = lock
        self._value: float = 0
        self._exemplar: _RawExemplar | None = None

    def add(self, amount: float = 1, exemplar: Exemplar | None = None) -> None:
        cls = amount.__class__
        if cls is not int and cls is not float:
            amount = as_number(amount)  # type: ignore[assignment]
            if amount is None:
                return
        if not 0 <= amount < _INF:
            return
        lock = self._lock
        lock.acquire()
        try:
            self._value += amount
            if exemplar is not None:
                self._exemplar = (amount, exemplar.trace_id, exemplar.span_id, time.time_ns())
        finally:
            lock.release()

    def _point(self) -> NumberPoint:
        return NumberPoint(self.attributes, self._value, _sample(self._exemplar))


class _GaugeSeries:
    __slots__ = ("_lock", "attributes", "value")

    def __init__(self, attributes: Attributes, lock: threading.Lock) -> None:
        self.attributes = attributes
        self._lock = lock
        self.value: float = 0

    def _point(self) -> NumberPoint:
        return NumberPoint(self.attributes, self.value)


_Series = BoundHistogram | BoundCounter | _GaugeSeries


class _Instrument:
    """Series bookkeeping shared by the three kinds: attribute filtering and the cardinality bound."""

    def __init__(self, spec: MetricSpec, max_series: int) -> None:
        self.spec = spec
        self._allowed = frozenset(spec.attributes)
        self._max_series = max_series
        self._lock = threading.Lock()
        self._series: dict[SeriesKey, _Series] = {}
        self._overflow_warned = False

    def _key(self, attributes: Attributes) -> SeriesKey:
        if not attributes:
            return ()
        allowed = self._allowed
        try:
            items = [(k, v) for k, v in attributes.items() if k in allowed and isinstance(v, _ATTR_TYPES)]
        except (AttributeError, TypeError):  # not a mapping: treat as no attributes
            return ()
        items.sort()  # keys are unique, so values are never compared
        return tuple(items)

    def _series_for(self, key: SeriesKey) -> _Series:
        series = self._series.get(key)
        if series is not None:
            return series
        with self._lock:
            series = self._series.get(key)
            if series is not None:
                return series
            normal = len(self._series) - (_OVERFLOW_KEY in self._series)
            if normal >= self._max_series:
                if not self._overflow_warned:
                    self._overflow_warned = True
                    logger.warning(
                        "metric %s reached its bound of %d attribute sets; further sets are folded into "
                        "one series with %s=true. Raise max_series_per_metric or send fewer distinct "
                        "attribute values.", self.spec.name, self._max_series, OVERFLOW_ATTRIBUTE,
                    )
                key = _OVERFLOW_KEY
                series = self._series.get(key)
                if series is not None:
                    return series
            series = self._new_series(MappingProxyType(dict(key)))
            self._series[key] = series
            return series

    def _new_series(self, attributes: Attributes) -> _Series:
        raise NotImplementedError

    def _snapshot(self, start_time_unix_nano: int) -> MetricSnapshot:
        with self._lock:
            points = tuple(series._point() for series in self._series.values())
        return MetricSnapshot(self.spec, start_time_unix_nano, time.time_ns(), points)


class Histogram(_Instrument):
    def _new_series(self, attributes: Attributes) -> BoundHistogram:
        return BoundHistogram(attributes, self.spec.buckets, self._lock)

    def bind(self, attributes: Attributes = _NO_ATTRIBUTES) -> BoundHistogram:
        return self._series_for(self._key(attributes))  # type: ignore[return-value]

    def record(self, value: float, attributes: Attributes = _NO_ATTRIBUTES,
               exemplar: Exemplar | None = None) -> None:
        self._series_for(self._key(attributes)).record(value, exemplar)  # type: ignore[union-attr]


class Counter(_Instrument):
    def _new_series(self, attributes: Attributes) -> BoundCounter:
        return BoundCounter(attributes, self._lock)

    def bind(self, attributes: Attributes = _NO_ATTRIBUTES) -> BoundCounter:
        return self._series_for(self._key(attributes))  # type: ignore[return-value]

    def add(self, amount: float, attributes: Attributes = _NO_ATTRIBUTES,
            exemplar: Exemplar | None = None) -> None:
        self._series_for(self._key(attributes)).add(amount, exemplar)  # type: ignore[union-attr]


class Gauge(_Instrument):
    def _new_series(self, attributes: Attributes) -> _GaugeSeries:
        return _GaugeSeries(attributes, self._lock)

    def set(self, value: float, attributes: Attributes = _NO_ATTRIBUTES) -> None:
        number = as_number(value)
        if number is not None:
            self._series_for(self._key(attributes)).value = number  # type: ignore[union-attr]


_KINDS: Mapping[str, type[_Instrument]] = {"histogram": Histogram, "counter": Counter, "gauge": Gauge}


class MetricsEngine:
    """Holds one instrument per spec and hands out cumulative snapshots to exporters."""

    def __init__(self, specs: Sequence[MetricSpec] = semconv.METRICS, *,
                 max_series_per_metric: int = 500) -> None:
        if max_series_per_metric < 1:
            raise ValueError(f"max_series_per_metric must be at least 1, not {max_series_per_metric}")
        by_name: dict[str, MetricSpec] = {}
        for spec in specs:
            if spec.name in by_name:
                raise ValueError(f"metric {spec.name!r} is defined twice; names must be unique")
            check_buckets(spec)
            by_name[spec.name] = spec
        self.specs: Mapping[str, MetricSpec] = MappingProxyType(by_name)
        self.max_series_per_metric = max_series_per_metric
        self.start_time_unix_nano = time.time_ns()
        self._before_collect: list[Callable[[], None]] = []
        self._instruments: dict[str, _Instrument] = {
            name: _KINDS[spec.kind](spec, max_series_per_metric) for name, spec in by_name.items()
        }

    def histogram(self, name: str) -> Histogram:
        return self._lookup(name, "histogram")  # type: ignore[return-value]

    def counter(self, name: str) -> Counter:
        return self._lookup(name, "counter")  # type: ignore[return-value]

    def gauge(self, name: str) -> Gauge:
        return self._lookup(name, "gauge")  # type: ignore[return-value]

    def _lookup(self, name: str, kind: str) -> _Instrument:
        return find_instrument(self._instruments, self.specs, name, kind)

    def before_collect(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` at the start of every :meth:`collect` (e.g. to set gauges of what is open now)."""
        self._before_collect.append(callback)

    def collect(self) -> list[MetricSnapshot]:
        """A cumulative snapshot of every metric, in spec order (metrics with no series included)."""
        for callback in tuple(self._before_collect):
            try:
                callback()
            except Exception:  # a hook must not cost the scrape its other metrics
                logger.exception("a before_collect callback of the metrics engine failed")
        return [inst._snapshot(self.start_time_unix_nano) for inst in self._instruments.values()]
