"""Hand a :class:`MetricsEngine`'s aggregates to an application's OpenTelemetry SDK ``MeterProvider``.

Per streamed chunk, otelagents records into its own engine (well under a microsecond); the application's
``MeterProvider`` receives the aggregated histograms, counters and gauges when one of its readers collects:
every ``MetricReader`` of the provider (periodic OTLP export, Prometheus, in-memory, ...) gets the engine's
series as one more instrumentation scope (``otelagents``) next to the SDK's own, with the provider's
resource. Same names, units, attributes, bucket bounds and exemplars as ``/metrics``; cumulative or delta
as each reader prefers (delta points carry the min and max since the start, which the engine keeps).

How. The Python SDK has no ``MetricProducer`` hook; the one point every collection passes through is the
collect callback a provider gives each of its readers (its measurement consumer's ``collect``, installed
with ``MetricReader._set_collect_callback``, also for readers added later by ``add_metric_reader``). We
wrap it once per provider and append our scope to what it returns for each reader. The engine's series
are already aggregated, so the application's views do not apply to them (rename or drop them in the
collector instead).

``engine_for(provider)`` gives the one engine attached to a provider (created on first use), so every
``Telemetry`` that reports to the same provider shares it and each run is counted once. The resource is
the provider's at each collection (the SDK gives a forked child a new ``service.instance.id``); like the
SDK's own instruments, a forked child's engine starts from the counts the parent had at the fork.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from opentelemetry.sdk.metrics import Counter as SDKCounter
from opentelemetry.sdk.metrics import Histogram as SDKHistogram
from opentelemetry.sdk.metrics import MeterProvider as SDKMeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricReader,
    MetricsData,
    ResourceMetrics,
)

from otelagents.telemetry._metrics.engine import MetricsEngine
from otelagents.telemetry._metrics.otlp import to_metrics_data
from otelagents.telemetry._metrics.points import HistogramPoint, MetricSnapshot, NumberPoint

__all__ = ["attach", "detach", "engine_for", "is_sdk_meter_provider"]

logger = logging.getLogger("otelagents.telemetry")

_lock = threading.Lock()
_engines: weakref.WeakKeyDictionary[Any, MetricsEngine] = weakref.WeakKeyDictionary()
_SeriesKey = tuple[tuple[str, Any], ...]


def is_sdk_meter_provider(provider: object) -> bool:
    return isinstance(provider, SDKMeterProvider)


def engine_for(provider: Any) -> MetricsEngine | None:
    """The engine whose aggregates ``provider``'s readers collect (made and attached on first use).

    ``None`` when ``provider`` is not an OpenTelemetry SDK ``MeterProvider`` (the API's no-op or proxy
    provider, or another implementation): then record through the API instead (``OTelAPISink``).
    """
    if not is_sdk_meter_provider(provider):
        return None
    with _lock:
        engine = _engines.get(provider)
        if engine is None:
            engine = MetricsEngine()
            _attach_locked(engine, provider)
            _engines[provider] = engine
        return engine


def attach(engine: MetricsEngine, provider: Any) -> None:
    """Make every reader of the SDK ``provider`` also collect ``engine`` (idempotent)."""
    if not is_sdk_meter_provider(provider):
        raise TypeError(f"expected an opentelemetry.sdk.metrics.MeterProvider, got {type(provider).__name__}")
    with _lock:
        _attach_locked(engine, provider)


def detach(engine: MetricsEngine, provider: Any) -> None:
    """Stop reporting ``engine`` through ``provider``'s readers (idempotent)."""
    with _lock:
        hook: _ProviderHook | None = getattr(getattr(provider, "_measurement_consumer", None), _HOOK, None)
        if hook is not None:
            hook.engines = [e for e in hook.engines if e is not engine]
        if _engines.get(provider) is engine:
            del _engines[provider]


_HOOK = "_otelagents_metrics_hook"


def _attach_locked(engine: MetricsEngine, provider: Any) -> None:
    consumer = provider._measurement_consumer
    hook: _ProviderHook | None = getattr(consumer, _HOOK, None)
    if hook is None:
        hook = _ProviderHook(consumer.collect, provider._sdk_config)
        setattr(consumer, _HOOK, hook)
        consumer.collect = hook.collect  # readers added later (add_metric_reader) are given this one
        for reader in list(consumer._reader_storages):
            if reader._collect is not None:  # None: a reader that was shut down
                reader._set_collect_callback(hook.collect)
    if not any(e is engine for e in hook.engines):
        hook.engines = [*hook.engines, engine]


class _ProviderHook:
    """Wraps a provider's collect callback: appends every attached engine's scope for the collecting reader."""

    def __init__(self, original: Callable[..., MetricsData | None], sdk_config: Any) -> None:
        self.original = original
        self.sdk_config = sdk_config  # its resource is read at each collection: the SDK renews it after fork
        self.engines: list[MetricsEngine] = []
        self._sources: weakref.WeakKeyDictionary[MetricReader, dict[int, _ReaderSource]] = (
            weakref.WeakKeyDictionary())
        self._lock = threading.Lock()

    def collect(self, reader: MetricReader, timeout_millis: float = 10_000) -> MetricsData | None:
        data = self.original(reader, timeout_millis=timeout_millis)
        for engine in self.engines:
            try:
                data = self._source(reader, engine).merge_into(data)
            except Exception:  # telemetry never breaks the application's other metrics
                logger.exception("otelagents metrics could not be added to this collection")
        return data

    def _source(self, reader: MetricReader, engine: MetricsEngine) -> _ReaderSource:
        with self._lock:
            per_reader = self._sources.setdefault(reader, {})
            source = per_reader.get(id(engine))
            if source is None or source.engine is not engine:
                source = per_reader[id(engine)] = _ReaderSource(engine, reader, self.sdk_config)
            return source


class _ReaderSource:
    """One engine as seen by one reader: converts to the reader's temporality and merges the scope in."""

    def __init__(self, engine: MetricsEngine, reader: MetricReader, sdk_config: Any) -> None:
        self.engine = engine
        self.sdk_config = sdk_config
        self.delta = {"histogram": _is_delta(reader, SDKHistogram), "counter": _is_delta(reader, SDKCounter)}
        self._last: dict[str, dict[_SeriesKey, HistogramPoint | NumberPoint]] = {}
        self._last_time = engine.start_time_unix_nano
        self._lock = threading.Lock()

    def merge_into(self, data: MetricsData | None) -> MetricsData | None:
        from otelagents import __version__

        with self._lock:
            snapshots = self._for_reader(self.engine.collect())
        ours = to_metrics_data(snapshots, self.sdk_config.resource, scope_version=__version__,
                               temporality=self.delta)
        scope_metrics = ours.resource_metrics[0].scope_metrics
        if not scope_metrics[0].metrics:
            return data
        if data is None or not data.resource_metrics:
            return ours
        first, *rest = data.resource_metrics
        merged = ResourceMetrics(resource=first.resource, scope_metrics=[*first.scope_metrics, *scope_metrics],
                                 schema_url=first.schema_url)
        return MetricsData(resource_metrics=[merged, *rest])

    def _for_reader(self, snapshots: list[MetricSnapshot]) -> list[MetricSnapshot]:
        if not any(self.delta.values()):
            return snapshots
        out = []
        start = self._last_time
        for snap in snapshots:
            if not self.delta.get(snap.kind, False):
                out.append(snap)
                continue
            last = self._last.get(snap.name, {})
            self._last[snap.name] = {_key(p): p for p in snap.points}
            points = [d for d in (_minus(p, last.get(_key(p))) for p in snap.points) if d is not None]
            out.append(replace(snap, start_time_unix_nano=start, points=tuple(points)))
        if snapshots:
            self._last_time = max(s.time_unix_nano for s in snapshots)
        return out


def _is_delta(reader: MetricReader, instrument_class: type) -> bool:
    """Whether ``reader`` wants deltas for ``instrument_class`` (keyed by the SDK's concrete subclasses)."""
    for cls, temporality in reader._instrument_class_temporality.items():
        if issubclass(cls, instrument_class):
            return temporality is AggregationTemporality.DELTA
    return False


def _key(point: HistogramPoint | NumberPoint) -> _SeriesKey:
    return tuple(sorted(point.attributes.items()))


def _minus(point: HistogramPoint | NumberPoint,
           before: HistogramPoint | NumberPoint | None) -> HistogramPoint | NumberPoint | None:
    """What ``point`` added since ``before`` (None when nothing did)."""
    if isinstance(point, HistogramPoint):
        if not isinstance(before, HistogramPoint):
            return point if point.count else None
        if point.count == before.count:
            return None
        buckets = tuple(a - b for a, b in zip(point.bucket_counts, before.bucket_counts, strict=True))
        return replace(point, count=point.count - before.count, sum=point.sum - before.sum, bucket_counts=buckets)
    if not isinstance(before, NumberPoint):
        return point if point.value else None
    if point.value == before.value:
        return None
    return replace(point, value=point.value - before.value)
