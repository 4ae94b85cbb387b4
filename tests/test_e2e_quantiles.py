"""Dashboard quantiles against the exact ones, over real HTTP streams and a real Prometheus.

The test server answers every request with a time to first token and a gap between deltas drawn from
log-normal spreads (TTFT 20 ms - 1.5 s, gaps 0.6 ms - 300 ms). Runs go through the real ``openai`` client
and the Responses adapter, telemetry serves ``/metrics``, Prometheus 2.42 scrapes it every half second, and
the dashboards' own ``histogram_quantile`` queries (Grafana variables substituted) are evaluated at the end.
The exact figures are nearest-rank percentiles of the very values the telemetry recorded (a sink in front of
the engine keeps a copy of each). Every estimate must be within 10 % of its exact figure.

A warm-up run creates the series before the measured runs, so Prometheus holds a sample of them before the
workload starts and ``rate()`` over the window sees the whole workload.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider

from benchmarks.resolution import nearest_rank
from dashboards import generate
from dashboards._gen import promql
from dashboards._gen.token_latency import GAP, TTFT
from otelagents import Agent, RunConfig, Runner
from otelagents.models.openai_responses import OpenAIResponsesModel
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import MetricsEngine, MetricsServer
from otelagents.telemetry._observer import Telemetry
from otelagents.testing.prometheus import JOB_NAME, PrometheusServer
from otelagents.testing.server import OpenAICompatServer, RecordedRequest, Reply
from tests.conftest import require_binary

MODEL = "gpt-quantiles"
STREAMS = 64
CHUNKS = 8
CONCURRENCY = 8
SCRAPE_INTERVAL_S = 0.5
QUANTILES = (0.5, 0.9, 0.95, 0.99)


class KeepingSink:
    """Records into ``engine`` and keeps every value recorded into the ``kept`` histograms."""

    def __init__(self, engine: MetricsEngine, kept: Sequence[str]) -> None:
        self.engine = engine
        self.values: dict[str, list[float]] = {name: [] for name in kept}

    def histogram(self, name: str) -> Any:
        inner = self.engine.histogram(name)
        return _KeptHistogram(inner, self.values[name]) if name in self.values else inner

    def counter(self, name: str) -> Any:
        return self.engine.counter(name)

    def gauge(self, name: str) -> Any:
        return self.engine.gauge(name)

    def __getattr__(self, name: str) -> Any:  # anything else the engine offers (e.g. collect hooks)
        return getattr(self.engine, name)


class _KeptHistogram:
    def __init__(self, inner: Any, values: list[float]) -> None:
        self.inner, self.values = inner, values

    def bind(self, attributes: Any) -> _KeptSeries:
        return _KeptSeries(self.inner.bind(attributes), self.values)


class _KeptSeries:
    def __init__(self, inner: Any, values: list[float]) -> None:
        self.inner, self.values = inner, values

    def record(self, value: float, exemplar: Any = None) -> None:
        self.values.append(value)
        self.inner.record(value, exemplar)

    def record_many(self, values: Sequence[float], exemplar: Any = None) -> None:
        self.values.extend(values)
        self.inner.record_many(values, exemplar)


def spreads(n: int, seed: int = 14) -> list[tuple[float, float]]:
    """(time to first token, gap) per stream: log-normal, clipped to 20 ms - 1.5 s and 0.6 ms - 300 ms."""
    rng = random.Random(seed)
    ttfts = [min(max(rng.lognormvariate(math.log(0.15), 0.8), 0.02), 1.5) for _ in range(n)]
    gaps = [min(max(rng.lognormvariate(math.log(0.008), 1.2), 0.0006), 0.3) for _ in range(n)]
    return list(zip(ttfts, gaps, strict=True))


class Workload:
    def __init__(self) -> None:
        self.engine = MetricsEngine()
        self.sink = KeepingSink(self.engine, (sc.METRIC_TIME_TO_FIRST_TOKEN, sc.METRIC_TIME_PER_OUTPUT_CHUNK))
        self.telemetry = Telemetry(TracerProvider(), metrics=self.sink)
        self._plan: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        self.server = OpenAICompatServer(responder=self._reply)

    def _reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            ttft, gap = self._plan.pop() if self._plan else (0.0, 0.0)
        return Reply.text(" ".join(f"w{i}" for i in range(CHUNKS)), ttft=ttft, gap=gap)

    def run(self, plan: list[tuple[float, float]], timeout_s: float) -> None:
        with self._lock:
            self._plan = list(plan)
        asyncio.run(asyncio.wait_for(self._all(len(plan)), timeout_s))

    async def _all(self, n: int) -> None:
        client = openai.AsyncOpenAI(base_url=self.server.base_url, api_key="test", max_retries=0)
        agent: Agent[Any] = Agent(name="Quantiles", instructions="Answer.", model=OpenAIResponsesModel(MODEL, client))
        gate = asyncio.Semaphore(CONCURRENCY)
        config = RunConfig(observers=[self.telemetry], workflow_name="quantiles")

        async def one(i: int) -> None:
            async with gate:
                result = Runner.run_streamed(agent, f"question {i}", run_config=config)
                async for _ in result.stream_events():
                    pass

        try:
            await asyncio.gather(*(one(i) for i in range(n)))
        finally:
            await client.close()


@pytest.fixture(scope="module")
def measured() -> Iterator[tuple[Workload, PrometheusServer, float, str]]:
    prometheus = require_binary("prometheus")
    workload = Workload()
    with workload.server, MetricsServer(workload.engine, port=0) as metrics:
        target = f"127.0.0.1:{metrics.port}"
        with PrometheusServer([target], scrape_interval_s=SCRAPE_INTERVAL_S, binary=prometheus) as prom:
            deadline = time.monotonic() + 150
            # Untimed warm-up (one-off import and validator costs), then one telemetry run to create the series.
            workload.run([(0.0, 0.0)], timeout_s=30)
            count = f'sum({TTFT.name}_count{{job="{JOB_NAME}"}})'
            prom.wait_until(f"{count} >= 1", timeout_s=max(1.0, deadline - time.monotonic()))
            for values in workload.sink.values.values():
                values.clear()
            before = time.time()
            workload.run(spreads(STREAMS), timeout_s=max(1.0, deadline - time.monotonic()))
            prom.wait_until(f"{count} >= {STREAMS + 1}", timeout_s=max(1.0, deadline - time.monotonic()))
            time.sleep(2 * SCRAPE_INTERVAL_S)
            eval_time = time.time()
            window = f"{math.ceil(eval_time - before) + 2}s"
            yield workload, prom, eval_time, window


def dashboard_quantiles(metric: promql.Metric, window: str) -> list[tuple[float, str]]:
    """The dashboards' quantile queries of ``metric`` (plus p90 built the same way), Grafana variables set."""
    values = {**generate.PARSE_SUBSTITUTIONS, "__rate_interval": window, "job": JOB_NAME, "model": MODEL}
    found = {}
    for _, _, expr in generate.all_queries(values):
        match = re.fullmatch(r"histogram_quantile\(([0-9.]+), (.*)\)", expr)
        if match and f"{metric.name}_bucket" in expr:
            found[float(match.group(1))] = expr
    assert {0.5, 0.95} <= set(found), f"the dashboards lost their quantile panels of {metric.name}"
    template = found[0.5]
    for q in QUANTILES:
        found.setdefault(q, template.replace("histogram_quantile(0.5,", f"histogram_quantile({q},", 1))
    for q, expr in found.items():  # the same query shape as the shared builder makes
        raw = promql.quantile(q, metric).replace("$__rate_interval", window)
        assert expr.startswith(raw.split("_bucket")[0]), expr
    return sorted(found.items())


@pytest.mark.timeout(240)
@pytest.mark.parametrize(("metric", "name", "fine_range"), [
    (TTFT, sc.METRIC_TIME_TO_FIRST_TOKEN, sc.TTFT_FINE_RANGE),
    (GAP, sc.METRIC_TIME_PER_OUTPUT_CHUNK, sc.CHUNK_GAP_FINE_RANGE),
])
def test_dashboard_quantiles_are_within_ten_percent_of_the_exact_ones(
        measured: tuple[Workload, PrometheusServer, float, str], metric: promql.Metric, name: str,
        fine_range: tuple[float, float]) -> None:
    workload, prom, eval_time, window = measured
    exact_values = workload.sink.values[name]
    expected_count = STREAMS if name == sc.METRIC_TIME_TO_FIRST_TOKEN else STREAMS * (CHUNKS - 1)
    assert len(exact_values) == expected_count
    report: list[tuple[float, str]] = []
    for q, expr in dashboard_quantiles(metric, window):
        result = prom.query(expr, time=eval_time)
        assert len(result) == 1, (expr, result)
        estimated = float(result[0]["value"][1])
        exact = nearest_rank(exact_values, q)
        assert fine_range[0] <= exact <= fine_range[1], f"p{q * 100:g} {exact} is outside the promised range"
        error = abs(estimated - exact) / exact
        report.append((error, f"p{q * 100:g}: /metrics {estimated:.5f} s, exact {exact:.5f} s, error {error:.1%}"))
    assert len(report) == len(QUANTILES)
    assert max(error for error, _ in report) <= 0.10, "\n".join(line for _, line in report)
