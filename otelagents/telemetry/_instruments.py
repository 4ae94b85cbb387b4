"""The metric instruments the observer records into, with bound series cached by attribute set.

The sink is a :class:`~otelagents.telemetry._metrics.MetricsEngine` (the fast path) or anything with the
same shape, such as :class:`~otelagents.telemetry._metrics.OTelAPISink`. Binding resolves an attribute set
once; the cache keeps the bound series per (metric, attribute set), so a stream's end costs a few dict
look-ups rather than attribute validation per metric. The cache is bounded: past ``MAX_CACHED`` entries
it starts again empty (the sinks bound their own cardinality).
"""

from __future__ import annotations

from typing import Any, Protocol

from otelagents.telemetry import semconv

AttrItems = tuple[tuple[str, Any], ...]
MAX_CACHED = 2048


class MetricsSink(Protocol):
    """What the observer needs from a metrics backend (``MetricsEngine`` and ``OTelAPISink`` have it)."""

    def histogram(self, name: str) -> Any: ...

    def counter(self, name: str) -> Any: ...

    def gauge(self, name: str) -> Any: ...


class Instruments:
    __slots__ = ("_bound", "_counters", "_histograms", "sink")

    def __init__(self, sink: MetricsSink) -> None:
        self.sink = sink
        self._histograms = {s.name: sink.histogram(s.name) for s in semconv.METRICS if s.kind == "histogram"}
        self._counters = {s.name: sink.counter(s.name) for s in semconv.METRICS if s.kind == "counter"}
        self._bound: dict[tuple[str, AttrItems], Any] = {}

    def histogram(self, name: str, attributes: AttrItems) -> Any:
        """The bound histogram series for ``attributes`` (``.record`` / ``.record_many``)."""
        return self._bind(self._histograms, name, attributes)

    def counter(self, name: str, attributes: AttrItems) -> Any:
        """The bound counter series for ``attributes`` (``.add``)."""
        return self._bind(self._counters, name, attributes)

    def _bind(self, instruments: dict[str, Any], name: str, attributes: AttrItems) -> Any:
        key = (name, attributes)
        bound = self._bound.get(key)
        if bound is None:
            if len(self._bound) >= MAX_CACHED:
                self._bound.clear()
            bound = instruments[name].bind(dict(attributes))
            self._bound[key] = bound
        return bound

    def set_info(self, version: str) -> None:
        self.sink.gauge(semconv.METRIC_INFO).set(1, {semconv.INFO_VERSION: version})


def with_error(attributes: AttrItems, error_type: str | None) -> AttrItems:
    return attributes if error_type is None else attributes + ((semconv.ERROR_TYPE, error_type),)
