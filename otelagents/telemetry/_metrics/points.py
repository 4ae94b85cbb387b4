"""What the metrics engine hands to exporters and tests: immutable snapshots of its series."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from otelagents.telemetry.semconv import MetricSpec

AttrValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Exemplar:
    """Identifies the span that produced a measurement (OpenTelemetry integer ids)."""

    trace_id: int
    span_id: int


@dataclass(frozen=True, slots=True)
class ExemplarSample:
    """An exemplar as stored: the measured value, the span ids and the wall-clock time it was recorded."""

    value: float
    trace_id: int
    span_id: int
    time_unix_nano: int


@dataclass(frozen=True, slots=True)
class HistogramPoint:
    """One histogram series. ``bucket_counts`` are per bucket (not cumulative), ``len(bounds) + 1`` long.

    ``min`` and ``max`` are NaN while ``count`` is 0. ``exemplars`` has one slot per bucket.
    """

    attributes: Mapping[str, AttrValue]
    bounds: tuple[float, ...]
    bucket_counts: tuple[int, ...]
    count: int
    sum: float
    min: float
    max: float
    exemplars: tuple[ExemplarSample | None, ...]


@dataclass(frozen=True, slots=True)
class NumberPoint:
    """One counter or gauge series."""

    attributes: Mapping[str, AttrValue]
    value: float
    exemplar: ExemplarSample | None = None


@dataclass(frozen=True, slots=True)
class MetricSnapshot:
    """Every series of one metric at one instant. Cumulative since ``start_time_unix_nano``."""

    spec: MetricSpec
    start_time_unix_nano: int
    time_unix_nano: int
    points: tuple[HistogramPoint | NumberPoint, ...]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.kind
