"""A small PromQL vocabulary built on the metric table in ``otelagents.telemetry.semconv``.

Every query in the dashboards and alert rules is made here, so the patterns are uniform:
quantiles keep ``le`` in the grouping, means and ratios guard their denominator with ``> 0``,
counts that mean "none happened" fall back to zero, and every window is a variable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from otelagents.telemetry import semconv

RATE_WINDOW = "$__rate_interval"
RANGE_WINDOW = "$__range"

# Which dashboard variable filters which attribute, for metrics that carry that attribute.
JOB_INSTANCE: tuple[tuple[str, str], ...] = (("job", "job"), ("instance", "instance"))


def le_string(bound: float) -> str:
    """The ``le`` label value prometheus_client prints for a bucket bound.

    Mirrors ``prometheus_client.utils.floatToGoString`` (Go's ``%g``-like output): ``1.0``,
    ``0.0025``, ``1.048576e+06``. Prometheus stores ``le`` verbatim, so ``"1"`` and ``"1.0"`` are
    different series; a query's ``le="..."`` literal must be exactly this string.
    """
    value = float(bound)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    text = repr(value)
    dot = text.find(".")
    if value > 0 and dot > 6:
        mantissa = f"{text[0]}.{text[1:dot]}".rstrip("0.")
        return f"{mantissa}e+0{dot - 1}"
    return text


def bound_strings(spec: semconv.MetricSpec) -> tuple[str, ...]:
    """Every ``le`` value a histogram exposes, ``+Inf`` included."""
    return tuple(le_string(bound) for bound in spec.buckets) + ("+Inf",)


@dataclass(frozen=True)
class Scope:
    """The dashboard variables that filter queries: ``(attribute key, variable name)`` pairs.

    ``job`` and ``instance`` are Prometheus target labels and apply to every metric; the other
    pairs apply only to metrics whose spec lists that attribute.
    """

    filters: tuple[tuple[str, str], ...] = ()
    targets: bool = True  # False for alert rules, which see every job and instance

    def matchers(self, spec: semconv.MetricSpec) -> list[str]:
        out = [f'{label}=~"${var}"' for label, var in JOB_INSTANCE] if self.targets else []
        for key, var in self.filters:
            if key in spec.attributes:
                out.append(f'{semconv.prometheus_label(key)}=~"${var}"')
        return out


@dataclass(frozen=True)
class Metric:
    """One metric family seen through a dashboard's variables."""

    spec: semconv.MetricSpec
    scope: Scope

    @property
    def name(self) -> str:
        return self.spec.prometheus_name

    def series(self, part: str = "", *extra: str) -> str:
        """A selector: ``name[_part]{job=~"$job", ..., extra...}``.

        ``part`` is ``bucket``, ``sum`` or ``count`` for histograms and empty otherwise.
        """
        if part and self.spec.kind != "histogram":
            raise ValueError(f"{self.name} is a {self.spec.kind}; only histograms have a _{part} series")
        if not part and self.spec.kind == "histogram":
            raise ValueError(f"{self.name} is a histogram; say which series: bucket, sum or count")
        name = f"{self.name}_{part}" if part else self.name
        matchers = self.scope.matchers(self.spec) + list(extra)
        return name + "{" + ", ".join(matchers) + "}" if matchers else name


def metric(name: str, scope: Scope) -> Metric:
    """Look a metric up by its OpenTelemetry name (a ``semconv.METRIC_*`` constant)."""
    try:
        return Metric(semconv.METRICS_BY_NAME[name], scope)
    except KeyError as exc:
        raise KeyError(f"{name!r} is not in semconv.METRICS; add it there first") from exc


def label(key: str) -> str:
    return semconv.prometheus_label(key)


def _by(labels: tuple[str, ...]) -> str:
    return f"sum by ({', '.join(labels)}) " if labels else "sum"


def rate(
    m: Metric, part: str = "", by: tuple[str, ...] = (), extra: tuple[str, ...] = (),
    window: str = RATE_WINDOW, fn: str = "rate",
) -> str:
    """``sum by (...) (rate(series[window]))``; ``fn="increase"`` for totals over a range."""
    return f"{_by(by)}({fn}({m.series(part, *extra)}[{window}]))"


def quantile(
    q: float, m: Metric, by: tuple[str, ...] = (), extra: tuple[str, ...] = (),
    window: str = RATE_WINDOW, fn: str = "rate",
) -> str:
    """``histogram_quantile`` over summed bucket rates, keeping ``le`` in the grouping."""
    return f"histogram_quantile({q}, {rate(m, 'bucket', ('le',) + by, extra, window, fn)})"


def divide(numerator: str, denominator: str) -> str:
    """``a / (b > 0)``: empty instead of NaN or Inf when there was no traffic."""
    return f"{numerator} / ({denominator} > 0)"


def mean(m: Metric, by: tuple[str, ...] = (), window: str = RATE_WINDOW) -> str:
    return divide(rate(m, "sum", by, window=window), rate(m, "count", by, window=window))


def or_zero(expr: str, like: str = "", on: tuple[str, ...] = ()) -> str:
    """``expr`` with a zero where it has no series.

    Without labels the zero is ``vector(0)``; with labels it is ``0 * like`` so that every group
    present in ``like`` gets a zero rather than disappearing. ``on`` matches the two sides on those
    labels only (when ``expr`` groups by more labels than ``like`` has).
    """
    if not like:
        return f"({expr} or vector(0))"
    matching = f"on ({', '.join(on)}) " if on else ""
    return f"({expr} or {matching}0 * {like})"


def error_ratio(
    m: Metric, by: tuple[str, ...] = (), window: str = RATE_WINDOW, fn: str = "rate",
) -> str:
    """Share of a histogram's observations that carry an ``error_type``.

    ``error_type`` is only set on failures, so the numerator may have no series at all; it falls
    back to zero while the denominator (all observations) is guarded by ``> 0``.
    """
    total = rate(m, "count", by, window=window, fn=fn)
    errors = rate(m, "count", by, (f'{label(semconv.ERROR_TYPE)}!=""',), window, fn)
    return divide(or_zero(errors, total if by else ""), total)


def heatmap(m: Metric, extra: tuple[str, ...] = ()) -> str:
    """Bucket rates for a heatmap panel (``format: heatmap`` turns them into per-bucket counts)."""
    return rate(m, "bucket", ("le",), extra)


def bucket_share(m: Metric, window: str = RANGE_WINDOW) -> str:
    """Each bucket's cumulative count over the range, as a share of all observations."""
    buckets = rate(m, "bucket", ("le",), window=window, fn="increase")
    total = rate(m, "count", window=window, fn="increase")
    return f"{buckets} / on () group_left () ({total} > 0)"


def slo_attainment(m: Metric, le_var: str, window: str = RATE_WINDOW, fn: str = "rate") -> str:
    """Share of observations at or under the bucket bound held by variable ``le_var``."""
    good = rate(m, "bucket", extra=(f'le="${le_var}"',), window=window, fn=fn)
    return divide(good, rate(m, "count", window=window, fn=fn))
