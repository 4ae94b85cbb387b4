"""A metrics sink with the :class:`MetricsEngine` shape that records through the OpenTelemetry metrics API.

For applications that configure their own ``MeterProvider`` (views, readers, exporters): otelagents'
instruments are created in it from the same spec table (names, units, descriptions and
``explicit_bucket_boundaries_advisory``), and every measurement goes through the SDK.

Same input rules as the engine: attribute keys outside the spec are dropped, bad values (NaN, infinite,
negative for histograms and counters, non-numeric) are ignored. Cardinality is bounded by the SDK
(``otel.metric.overflow`` beyond its limit, 2000 by default).

Gauges are observable gauges holding the last value set per attribute set; each collection first runs the
``before_collect`` callbacks (as the engine does), so gauges of what is open now are computed then.

Exemplars: an :class:`Exemplar` becomes ``context=`` holding a non-recording span with a *sampled*
``SpanContext``, so the SDK's default ``trace_based`` exemplar filter keeps it.

Cost: every value is one SDK ``record`` call, about 25-35 µs on a 2-vCPU guest; ``record_many`` is a loop of
such calls (a batch of 1000 chunk gaps costs ~30 ms), against well under 1 µs per value in the engine. With
an exemplar, ``record_many`` attaches it to every value, so each bucket the batch touches keeps it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from opentelemetry import metrics as otel_metrics
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Meter, MeterProvider, Observation
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from otelagents.telemetry import semconv
from otelagents.telemetry._compiled import Times
from otelagents.telemetry._metrics._batch import as_number, gaps_of
from otelagents.telemetry._metrics.engine import (
    Attributes,
    AttrValue,
    Exemplar,
    find_instrument,
)
from otelagents.telemetry.semconv import MetricSpec

__all__ = ["OTelAPISink"]

logger = logging.getLogger(__name__)

_NO_ATTRIBUTES: Attributes = MappingProxyType({})
_ATTR_TYPES = (str, int, float, bool)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


@lru_cache(maxsize=1024)
def _context(exemplar: Exemplar) -> Context:
    span_context = SpanContext(exemplar.trace_id, exemplar.span_id, is_remote=False, trace_flags=_SAMPLED)
    return set_span_in_context(NonRecordingSpan(span_context))


def _ctx(exemplar: Exemplar | None) -> Context | None:
    return None if exemplar is None else _context(exemplar)


def _non_negative(value: object) -> float | None:
    number = as_number(value)
    return number if number is not None and number >= 0 else None


class _APIInstrument:
    def __init__(self, spec: MetricSpec, instrument: Any) -> None:
        self.spec = spec
        self._instrument = instrument
        self._allowed = frozenset(spec.attributes)

    def _filter(self, attributes: Attributes) -> dict[str, AttrValue]:
        if not attributes:
            return {}
        try:
            return {k: v for k, v in attributes.items() if k in self._allowed and isinstance(v, _ATTR_TYPES)}
        except (AttributeError, TypeError):
            return {}


class APIBoundHistogram:
    __slots__ = ("_instrument", "attributes")

    def __init__(self, instrument: Any, attributes: dict[str, AttrValue]) -> None:
        self._instrument = instrument
        self.attributes = attributes

    def record(self, value: float, exemplar: Exemplar | None = None) -> None:
        number = _non_negative(value)
        if number is not None:
            self._instrument.record(number, self.attributes, context=_ctx(exemplar))

    def record_many(self, values: Sequence[float], exemplar: Exemplar | None = None) -> None:
        context = _ctx(exemplar)
        record, attributes = self._instrument.record, self.attributes
        for value in values:
            number = _non_negative(value)
            if number is not None:
                record(number, attributes, context=context)

    def record_gaps(self, times: Times | Sequence[float], threshold: float, exemplar: Exemplar | None = None) -> int:
        """Record the gaps between consecutive ``times``; how many are longer than ``threshold``."""
        gaps, stalls = gaps_of(times, threshold)
        self.record_many(gaps, exemplar)
        return stalls


class APIBoundCounter:
    __slots__ = ("_instrument", "attributes")

    def __init__(self, instrument: Any, attributes: dict[str, AttrValue]) -> None:
        self._instrument = instrument
        self.attributes = attributes

    def add(self, amount: float = 1, exemplar: Exemplar | None = None) -> None:
        number = _non_negative(amount)
        if number is not None:
            self._instrument.add(number, self.attributes, context=_ctx(exemplar))


class APIHistogram(_APIInstrument):
    def bind(self, attributes: Attributes = _NO_ATTRIBUTES) -> APIBoundHistogram:
        return APIBoundHistogram(self._instrument, self._filter(attributes))

    def record(self, value: float, attributes: Attributes = _NO_ATTRIBUTES,
               exemplar: Exemplar | None = None) -> None:
        self.bind(attributes).record(value, exemplar)


class APICounter(_APIInstrument):
    def bind(self, attributes: Attributes = _NO_ATTRIBUTES) -> APIBoundCounter:
        return APIBoundCounter(self._instrument, self._filter(attributes))

    def add(self, amount: float, attributes: Attributes = _NO_ATTRIBUTES,
            exemplar: Exemplar | None = None) -> None:
        self.bind(attributes).add(amount, exemplar)


class APIGauge(_APIInstrument):
    """The last value per attribute set, reported by an observable gauge at each collection, after the sink's
    ``before_collect`` callbacks ran (so a gauge of what is open now is right at every collection)."""

    def __init__(self, spec: MetricSpec, before: Callable[[], None]) -> None:
        super().__init__(spec, None)
        self._before = before
        self._lock = threading.Lock()
        self._values: dict[tuple[tuple[str, AttrValue], ...], tuple[dict[str, AttrValue], float]] = {}

    def set(self, value: float, attributes: Attributes = _NO_ATTRIBUTES) -> None:
        number = as_number(value)
        if number is not None:
            filtered = self._filter(attributes)
            with self._lock:
                self._values[tuple(sorted(filtered.items()))] = (filtered, number)

    def observe(self, options: CallbackOptions) -> list[Observation]:
        self._before()
        with self._lock:
            return [Observation(value, attributes) for attributes, value in self._values.values()]


_APIInstrumentT = APIHistogram | APICounter | APIGauge


def _create(meter: Meter, spec: MetricSpec, before: Callable[[], None]) -> _APIInstrumentT:
    if spec.kind == "histogram":
        return APIHistogram(spec, meter.create_histogram(
            spec.name, spec.unit, spec.description,
            explicit_bucket_boundaries_advisory=[float(b) for b in spec.buckets]))
    if spec.kind == "counter":
        return APICounter(spec, meter.create_counter(spec.name, spec.unit, spec.description))
    gauge = APIGauge(spec, before)
    gauge._instrument = meter.create_observable_gauge(spec.name, [gauge.observe], spec.unit, spec.description)
    return gauge


class OTelAPISink:
    """Records otelagents' metrics through ``meter_provider`` (default: the global one)."""

    def __init__(self, meter_provider: MeterProvider | None = None,
                 specs: Sequence[MetricSpec] = semconv.METRICS, *, scope_name: str = "otelagents",
                 scope_version: str = "0.1.0") -> None:
        provider = meter_provider if meter_provider is not None else otel_metrics.get_meter_provider()
        meter = provider.get_meter(scope_name, scope_version)
        self.specs: Mapping[str, MetricSpec] = MappingProxyType({spec.name: spec for spec in specs})
        self._before_collect: list[Callable[[], None]] = []
        self._instruments = {spec.name: _create(meter, spec, self._run_before_collect)
                             for spec in self.specs.values()}

    def before_collect(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` before the gauges are observed at each collection (as ``MetricsEngine`` does)."""
        self._before_collect.append(callback)

    def _run_before_collect(self) -> None:
        for callback in tuple(self._before_collect):
            try:
                callback()
            except Exception:  # a hook must not cost the collection its gauges
                logger.exception("a before_collect callback of the OpenTelemetry-API sink failed")

    def histogram(self, name: str) -> APIHistogram:
        return find_instrument(self._instruments, self.specs, name, "histogram")  # type: ignore[return-value]

    def counter(self, name: str) -> APICounter:
        return find_instrument(self._instruments, self.specs, name, "counter")  # type: ignore[return-value]

    def gauge(self, name: str) -> APIGauge:
        return find_instrument(self._instruments, self.specs, name, "gauge")  # type: ignore[return-value]
