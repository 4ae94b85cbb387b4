"""Streams in flight: open and stalled model streams are visible while they are open, not when they end.

A stream that hangs mid-answer (the test server sends half the output, then nothing) must show in
``/metrics`` as open and stalled once its last chunk is older than the stall threshold, and put the
generated ``OtelagentsStreamsStalled`` alert in ``pending`` in a real Prometheus, all before the stream ends.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client.parser import text_string_to_metric_families

from dashboards import generate
from otelagents import Agent, RunConfig, Runner
from otelagents.models.openai_chatcompletions import OpenAIChatCompletionsModel
from otelagents.models.openai_responses import OpenAIResponsesModel
from otelagents.result import RunResultStreaming
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import MetricsEngine, MetricsServer, OTelAPISink
from otelagents.telemetry._observer import Telemetry
from otelagents.testing.prometheus import JOB_NAME, PrometheusServer
from otelagents.testing.server import OpenAICompatServer, Reply
from tests.conftest import require_binary

THRESHOLD_S = 0.2
RULES = Path(generate.__file__).resolve().parent / generate.ALERTS_FILE


def gauges(url: str) -> dict[str, float]:
    """The two stream gauges summed over their series, from ``/metrics`` (the classic text format)."""
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    found = {sc.METRIC_STREAMS_OPEN: 0.0, sc.METRIC_STREAMS_STALLED: 0.0}
    names = {spec.prometheus_name: spec.name for spec in sc.METRICS if spec.name in found}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in names:
                found[names[sample.name]] += sample.value
    return found


async def wait_for(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def drain(result: RunResultStreaming) -> None:
    try:
        async for _ in result.stream_events():
            pass
    except Exception:  # noqa: BLE001 - the stalled stream ends with a dropped connection
        pass


class Rig:
    def __init__(self, server: OpenAICompatServer, telemetry: Telemetry, api: str) -> None:
        self.server = server
        self.telemetry = telemetry
        self.client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        cls = OpenAIResponsesModel if api == "responses" else OpenAIChatCompletionsModel
        self.agent: Agent[Any] = Agent(name="Hanging", instructions="Answer.", model=cls("gpt-hang", self.client))

    def start(self) -> tuple[RunResultStreaming, asyncio.Task[None]]:
        result = Runner.run_streamed(self.agent, "go", run_config=RunConfig(observers=[self.telemetry]))
        return result, asyncio.ensure_future(drain(result))


@pytest.fixture
async def served() -> AsyncIterator[tuple[OpenAICompatServer, MetricsEngine, MetricsServer]]:
    engine = MetricsEngine()
    with OpenAICompatServer() as server, MetricsServer(engine, port=0) as metrics:
        yield server, engine, metrics


@pytest.mark.timeout(60)
@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_a_hanging_stream_is_open_then_stalled_in_metrics_before_it_ends(
        served: tuple[OpenAICompatServer, MetricsEngine, MetricsServer], api: str) -> None:
    server, engine, metrics = served
    rig = Rig(server, Telemetry(TracerProvider(), metrics=engine, stall_threshold_s=THRESHOLD_S), api)
    server.add(Reply.text("warm up"))
    await drain(rig.start()[0])  # the first stream pays one-off costs
    assert gauges(metrics.url) == {sc.METRIC_STREAMS_OPEN: 0.0, sc.METRIC_STREAMS_STALLED: 0.0}

    server.add(Reply.fault("stall", "one two three four five six seven eight", stall_seconds=20.0))
    result, task = rig.start()
    try:
        await wait_for(lambda: gauges(metrics.url)[sc.METRIC_STREAMS_OPEN] == 1.0)
        await wait_for(lambda: gauges(metrics.url)[sc.METRIC_STREAMS_STALLED] == 1.0)
        assert not task.done()  # seen while the stream is still open
    finally:
        result.cancel()
        await asyncio.wait_for(task, 10)
    assert gauges(metrics.url) == {sc.METRIC_STREAMS_OPEN: 0.0, sc.METRIC_STREAMS_STALLED: 0.0}
    await rig.client.close()


@pytest.mark.timeout(60)
async def test_waiting_for_the_first_token_is_open_but_not_stalled(
        served: tuple[OpenAICompatServer, MetricsEngine, MetricsServer]) -> None:
    server, engine, metrics = served
    rig = Rig(server, Telemetry(TracerProvider(), metrics=engine, stall_threshold_s=THRESHOLD_S), "responses")
    server.add(Reply.text("slow to start", ttft=3.0))
    result, task = rig.start()
    await wait_for(lambda: gauges(metrics.url)[sc.METRIC_STREAMS_OPEN] == 1.0)
    await asyncio.sleep(3 * THRESHOLD_S)  # well past the threshold, still before the first token
    assert not task.done()
    assert gauges(metrics.url) == {sc.METRIC_STREAMS_OPEN: 1.0, sc.METRIC_STREAMS_STALLED: 0.0}
    await asyncio.wait_for(task, 20)
    assert gauges(metrics.url)[sc.METRIC_STREAMS_OPEN] == 0.0
    assert result.final_output == "slow to start"
    await rig.client.close()


def _otel_gauges(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], float]]]:
    data = reader.get_metrics_data()
    found: dict[str, list[tuple[dict[str, Any], float]]] = {}
    if data is None:
        return found
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                if m.name in (sc.METRIC_STREAMS_OPEN, sc.METRIC_STREAMS_STALLED):
                    found[m.name] = [(dict(p.attributes or {}), p.value) for p in m.data.data_points]
    return found


@pytest.mark.timeout(60)
async def test_the_opentelemetry_sink_sees_a_hanging_stream_at_collection() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    with OpenAICompatServer() as server:
        telemetry = Telemetry(TracerProvider(), metrics=OTelAPISink(provider), stall_threshold_s=THRESHOLD_S)
        assert telemetry.streams.live is True  # computed at each collection, as with the engine
        rig = Rig(server, telemetry, "responses")
        server.add(Reply.fault("stall", "one two three four five six", stall_seconds=20.0))
        result, task = rig.start()
        try:
            await wait_for(lambda: any(v == 1 for _, v in _otel_gauges(reader).get(sc.METRIC_STREAMS_STALLED, [])))
            assert not task.done()
            (attributes, opened), = _otel_gauges(reader)[sc.METRIC_STREAMS_OPEN]
            assert opened == 1
            assert attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-hang"
            assert attributes[sc.GEN_AI_AGENT_NAME] == "Hanging"
            assert attributes[sc.SERVER_ADDRESS] == "127.0.0.1"
            assert sc.GEN_AI_RESPONSE_MODEL not in attributes  # not known before the first chunk
        finally:
            result.cancel()
            await asyncio.wait_for(task, 10)
        assert _otel_gauges(reader)[sc.METRIC_STREAMS_OPEN] == [(attributes, 0)]
        assert _otel_gauges(reader)[sc.METRIC_STREAMS_STALLED] == [(attributes, 0)]
        await rig.client.close()
    provider.shutdown()


class _SetOnlySink:
    """A sink without collect hooks: the gauges are set when a stream opens or ends."""

    def __init__(self) -> None:
        self.engine = MetricsEngine()

    def histogram(self, name: str) -> Any:
        return self.engine.histogram(name)

    def counter(self, name: str) -> Any:
        return self.engine.counter(name)

    def gauge(self, name: str) -> Any:
        return self.engine.gauge(name)


@pytest.mark.timeout(60)
async def test_a_sink_without_collect_hooks_gets_the_gauges_when_streams_open_and_end() -> None:
    sink = _SetOnlySink()
    with OpenAICompatServer() as server:
        telemetry = Telemetry(TracerProvider(), metrics=sink, stall_threshold_s=THRESHOLD_S)
        assert telemetry.streams.live is False
        rig = Rig(server, telemetry, "responses")

        def opened() -> float:
            (snap,) = [s for s in sink.engine.collect() if s.name == sc.METRIC_STREAMS_OPEN]
            return sum(p.value for p in snap.points)  # type: ignore[union-attr]

        server.add(Reply.text("a b c", ttft=1.0))
        result, task = rig.start()
        await wait_for(lambda: opened() == 1)
        await asyncio.wait_for(task, 20)
        assert opened() == 0 and result.final_output == "a b c"
        await rig.client.close()


def _alerts(prom: PrometheusServer) -> list[dict[str, Any]]:
    return prom.query('ALERTS{alertname="OtelagentsStreamsStalled"}')


@pytest.mark.timeout(120)
async def test_a_hanging_stream_puts_the_stalled_alert_in_pending_before_it_ends(
        served: tuple[OpenAICompatServer, MetricsEngine, MetricsServer]) -> None:
    server, engine, metrics = served
    prometheus = require_binary("prometheus")
    rig = Rig(server, Telemetry(TracerProvider(), metrics=engine, stall_threshold_s=THRESHOLD_S), "responses")
    with PrometheusServer([f"127.0.0.1:{metrics.port}"], scrape_interval_s=0.5, rule_files=[str(RULES)],
                          binary=prometheus) as prom:
        server.add(Reply.text("warm up"))
        await drain(rig.start()[0])
        stalled = f'{sc.METRICS_BY_NAME[sc.METRIC_STREAMS_STALLED].prometheus_name}{{job="{JOB_NAME}"}}'
        await asyncio.to_thread(prom.wait_until, f"{stalled} == 0", 30.0)  # scraped, quiet
        assert _alerts(prom) == []
        server.add(Reply.fault("stall", "one two three four five six", stall_seconds=60.0))
        result, task = rig.start()
        try:
            pending = await asyncio.to_thread(
                prom.wait_until, 'ALERTS{alertname="OtelagentsStreamsStalled", alertstate="pending"}', 30.0)
            assert not task.done()  # the stream is still open
            (alert,) = pending
            assert alert["metric"]["gen_ai_request_model"] == "gpt-hang"
            assert alert["metric"]["severity"] == "warning"
        finally:
            result.cancel()
            await asyncio.wait_for(task, 10)
        await asyncio.to_thread(prom.wait_until, f"{stalled} == 0", 30.0)
    await rig.client.close()


@pytest.mark.timeout(60)
async def test_two_telemetry_objects_on_one_engine_count_their_streams_together(
        served: tuple[OpenAICompatServer, MetricsEngine, MetricsServer]) -> None:
    server, engine, metrics = served
    first = Rig(server, Telemetry(TracerProvider(), metrics=engine), "responses")
    second = Rig(server, Telemetry(TracerProvider(), metrics=engine), "responses")
    assert first.telemetry.streams is second.telemetry.streams
    server.add(Reply.text("one", ttft=1.0), Reply.text("two", ttft=1.0))
    (_, one), (_, two) = first.start(), second.start()
    await wait_for(lambda: gauges(metrics.url)[sc.METRIC_STREAMS_OPEN] == 2.0)
    await asyncio.wait_for(asyncio.gather(one, two), 20)
    assert gauges(metrics.url)[sc.METRIC_STREAMS_OPEN] == 0.0
    await first.client.close()
    await second.client.close()
