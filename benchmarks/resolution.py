"""Quantile resolution: exact percentiles against what a dashboard computes from ``/metrics``.

Workloads of log-normal values (several medians and spreads, each kept inside the range the bucket layout
promises to resolve: 20 ms - 10 s for time to first token, 0.5 ms - 2 s for chunk gaps), plus an adversarial
one (every value just above a bucket bound, the worst case for interpolation), are recorded into a
``MetricsEngine``, one label set per workload. ``/metrics`` is then fetched over HTTP in the classic text
format (what most Prometheus set-ups scrape), and p50 / p90 / p99 are computed from the classic buckets as
Prometheus' ``histogram_quantile`` does (linear interpolation inside the bucket that holds the rank). The
exact figure is the nearest-rank percentile of the recorded values (the ``ceil(q * n)``-th smallest): the
value that bucket holds. Reported: the largest relative error per metric, and the series budget (bucket
series per label set, ``+Inf`` included, plus ``_sum`` and ``_count``).
"""

from __future__ import annotations

import math
import random
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from otelagents import _quantiles as quantiles

QUANTILES = (0.5, 0.9, 0.99)


@dataclass(frozen=True)
class Workload:
    metric: str  # OpenTelemetry name
    name: str  # also the gen_ai.request.model label value
    values: tuple[float, ...]


@dataclass(frozen=True)
class Estimate:
    metric: str
    workload: str
    quantile: float
    exact: float
    estimated: float

    @property
    def error(self) -> float:
        return abs(self.estimated - self.exact) / self.exact


@dataclass
class ResolutionResult:
    estimates: list[Estimate] = field(default_factory=list)
    budget: dict[str, int] = field(default_factory=dict)  # metric -> series per label set
    values: int = 0

    def max_error(self, metric: str, workload_prefix: str = "") -> float:
        """The largest relative error of ``metric`` (over the workloads whose name starts with the prefix)."""
        return max((e.error for e in self.estimates if e.metric == metric and e.workload.startswith(workload_prefix)),
                   default=float("nan"))

    def to_json(self) -> dict[str, Any]:
        return {"values_per_workload": self.values, "budget": self.budget,
                "estimates": [vars(e) | {"error": e.error} for e in self.estimates]}


def nearest_rank(values: Sequence[float], q: float) -> float:
    """The exact ``q`` percentile (the library's nearest rank): what a bucket quantile estimates."""
    exact = quantiles.nearest_rank(values, q)
    if exact is None:
        raise ValueError("nearest_rank needs at least one value")
    return exact


def bucket_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float:
    """``histogram_quantile(q, ...)`` over ``(le, cumulative count)`` pairs as scraped (the library's
    interpolation, the one the CLI reports use); NaN when empty, as Prometheus answers."""
    ordered = sorted(buckets)
    bounds = [le for le, _ in ordered if not math.isinf(le)]
    cumulative = [count for _, count in ordered]
    if len(cumulative) == len(bounds):  # no +Inf bucket scraped: it holds nothing beyond the last bound
        cumulative.append(cumulative[-1] if cumulative else 0.0)
    counts = [cumulative[0], *(b - a for a, b in zip(cumulative[:-1], cumulative[1:], strict=True))]
    estimated = quantiles.bucket_quantile(q, bounds, counts)
    return math.nan if estimated is None else estimated


def _log_normal(rng: random.Random, median: float, sigma: float, lo: float, hi: float, n: int) -> tuple[float, ...]:
    values: list[float] = []
    for _ in range(n * 20):  # bounded: a value outside the range is drawn again, at most 20 n draws
        value = rng.lognormvariate(math.log(median), sigma)
        if lo <= value <= hi:
            values.append(value)
            if len(values) == n:
                break
    return tuple(values)


def workloads(n: int, seed: int = 14) -> list[Workload]:
    from otelagents.telemetry import semconv as sc

    rng = random.Random(seed)
    out = []
    spreads = {
        sc.METRIC_TIME_TO_FIRST_TOKEN: ((0.02, 10.0), sc.TTFT_BUCKETS, (0.05, 0.3, 2.0)),
        sc.METRIC_TIME_PER_OUTPUT_CHUNK: ((0.0005, 2.0), sc.CHUNK_GAP_BUCKETS, (0.002, 0.03, 0.4)),
    }
    for metric, ((lo, hi), bounds, medians) in spreads.items():
        for median in medians:
            for sigma in (0.3, 1.0):
                out.append(Workload(metric, f"lognormal-{median:g}s-sigma{sigma:g}",
                                    _log_normal(rng, median, sigma, lo, hi, n)))
        # The worst case: every value just above a bound inside the range, so it sits at the bottom of
        # its bucket while interpolation places quantiles across the whole bucket.
        inside = [b * 1.0001 for b in bounds if lo <= b * 1.0001 < hi]
        out.append(Workload(metric, "just-above-bounds", tuple(rng.choice(inside) for _ in range(n))))
    return out


def _scrape(url: str) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """(family, model label) -> (le, cumulative) pairs, parsed from the text exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=10) as response:  # the classic text format (no Accept header)
        text = response.read().decode()
    found: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                key = (family.name, sample.labels.get("gen_ai_request_model", ""))
                found.setdefault(key, []).append((float(sample.labels["le"]), sample.value))
    return found


def run_resolution(n: int = 20_000, progress: Any = None) -> ResolutionResult:
    from otelagents.telemetry import semconv as sc
    from otelagents.telemetry._metrics import MetricsEngine, MetricsServer

    engine = MetricsEngine()
    chosen = workloads(n)
    for w in chosen:
        engine.histogram(w.metric).bind({sc.GEN_AI_REQUEST_MODEL: w.name}).record_many(list(w.values))
    with MetricsServer(engine, port=0) as server:
        scraped = _scrape(server.url)
    result = ResolutionResult(values=n)
    for w in chosen:
        spec = sc.METRICS_BY_NAME[w.metric]
        result.budget[w.metric] = len(spec.buckets) + 1 + 2
        buckets = scraped[(spec.prometheus_name, w.name)]
        for q in QUANTILES:
            result.estimates.append(Estimate(w.metric, w.name, q, nearest_rank(w.values, q),
                                             bucket_quantile(q, buckets)))
    if progress is not None:
        progress("resolution: " + ", ".join(f"{m} max error {result.max_error(m):.2%}" for m in result.budget))
    return result


def worst(estimates: Iterable[Estimate]) -> Estimate | None:
    return max(estimates, key=lambda e: e.error, default=None)
