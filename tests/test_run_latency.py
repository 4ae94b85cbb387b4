"""Run-level latency a user notices, over the real HTTP server and the real ``openai`` client.

In a run with a tool call or a handoff, the first model call's first token is tool-call arguments; the text
the user reads comes calls later. The server's configured delays give lower bounds that the run's time to
first text must respect (first call's delay + tool time + the answering call's delay), while the first
call's own time to first token stays near its delay alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otelagents import Agent, RunConfig, Runner, function_tool
from otelagents.models.openai_chatcompletions import OpenAIChatCompletionsModel
from otelagents.models.openai_responses import OpenAIResponsesModel
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import HistogramPoint, MetricsEngine
from otelagents.telemetry._observer import Telemetry
from otelagents.testing.server import OpenAICompatServer, Reply

FIRST_CALL_S = 0.3  # the server's delay before the tool-call arguments / handoff call
TOOL_S = 0.25  # how long the tool sleeps
ANSWER_S = 0.4  # the server's delay before the answering call's first text delta
MARGIN_S = 1.5  # scheduling slack on a busy 2-core machine; the lower bounds are exact


@function_tool
async def slow_lookup(city: str) -> str:
    """Look the weather up, slowly."""
    await asyncio.sleep(TOOL_S)
    return f"sunny in {city}"


class Rig:
    def __init__(self, server: OpenAICompatServer, api: str = "responses") -> None:
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.engine = MetricsEngine()
        self.telemetry = Telemetry(provider, metrics=self.engine)
        self.client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        cls = OpenAIResponsesModel if api == "responses" else OpenAIChatCompletionsModel
        self.model = cls("gpt-latency", self.client)

    async def run(self, agent: Agent[Any], workflow: str) -> Any:
        result = Runner.run_streamed(agent, "hello", run_config=RunConfig(observers=[self.telemetry],
                                                                           workflow_name=workflow))
        async for _ in result.stream_events():
            pass
        await self.client.close()
        return result.final_output

    def spans(self, operation: str) -> list[ReadableSpan]:
        return [s for s in self.exporter.get_finished_spans()
                if (s.attributes or {}).get(sc.GEN_AI_OPERATION_NAME) == operation]

    def root(self) -> dict[str, Any]:
        (root,) = self.spans(sc.OP_INVOKE_WORKFLOW)
        return dict(root.attributes or {})

    def first_call_ttft(self) -> float:
        chats = sorted(self.spans(sc.OP_CHAT), key=lambda s: s.start_time or 0)
        return float((chats[0].attributes or {})[sc.OTELAGENTS_TIME_TO_FIRST_TOKEN])

    def histogram(self, name: str) -> HistogramPoint:
        (snap,) = [s for s in self.engine.collect() if s.name == name]
        (point,) = snap.points
        assert isinstance(point, HistogramPoint)
        return point


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer() as srv:
        yield srv


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_tools_scenario_first_text_comes_after_the_tool_and_the_answering_call(
        server: OpenAICompatServer, api: str) -> None:
    rig = Rig(server, api)
    server.add(Reply.tool_calls([("slow_lookup", {"city": "Paris"})], ttft=FIRST_CALL_S),
               Reply.text("It is sunny in Paris.", ttft=ANSWER_S))
    agent: Agent[Any] = Agent(name="Forecaster", instructions="Forecast.", model=rig.model, tools=[slow_lookup])
    assert await rig.run(agent, "tools") == "It is sunny in Paris."
    root = rig.root()
    first_text = root[sc.OTELAGENTS_RUN_TIME_TO_FIRST_TEXT]
    assert FIRST_CALL_S + TOOL_S + ANSWER_S <= first_text < FIRST_CALL_S + TOOL_S + ANSWER_S + MARGIN_S
    # The per-call figure of the first call is its tool-call arguments: well before the first text.
    assert FIRST_CALL_S <= rig.first_call_ttft() < first_text - TOOL_S - ANSWER_S
    assert first_text <= root[sc.OTELAGENTS_RUN_TIME_TO_FINAL_OUTPUT]
    assert root[sc.OTELAGENTS_RUN_MODEL_CALLS] == 2
    assert TOOL_S <= root[sc.OTELAGENTS_RUN_TOOL_TIME] < TOOL_S + MARGIN_S
    # The same figures as metrics, one value per run.
    metric = rig.histogram(sc.METRIC_RUN_TIME_TO_FIRST_TEXT)
    assert (metric.count, metric.sum) == (1, first_text)
    assert dict(metric.attributes) == {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW,
                                       sc.GEN_AI_WORKFLOW_NAME: "tools"}
    assert rig.histogram(sc.METRIC_RUN_MODEL_CALLS).sum == 2
    assert rig.histogram(sc.METRIC_RUN_TOOL_TIME).sum == root[sc.OTELAGENTS_RUN_TOOL_TIME]
    assert rig.histogram(sc.METRIC_RUN_TIME_TO_FINAL_OUTPUT).sum == root[sc.OTELAGENTS_RUN_TIME_TO_FINAL_OUTPUT]


async def test_handoff_scenario_first_text_is_the_next_agents(server: OpenAICompatServer) -> None:
    rig = Rig(server)
    spanish: Agent[Any] = Agent(name="Spanish Agent", instructions="Reply in Spanish.", model=rig.model)
    triage: Agent[Any] = Agent(name="Triage", instructions="Route.", model=rig.model, handoffs=[spanish])
    server.add(Reply.handoff("transfer_to_spanish_agent", ttft=FIRST_CALL_S), Reply.text("Hola.", ttft=ANSWER_S))
    assert await rig.run(triage, "handoff") == "Hola."
    root = rig.root()
    first_text = root[sc.OTELAGENTS_RUN_TIME_TO_FIRST_TEXT]
    assert FIRST_CALL_S + ANSWER_S <= first_text < FIRST_CALL_S + ANSWER_S + MARGIN_S
    assert FIRST_CALL_S <= rig.first_call_ttft() < first_text - ANSWER_S
    assert root[sc.OTELAGENTS_RUN_MODEL_CALLS] == 2
    assert root[sc.OTELAGENTS_RUN_TOOL_TIME] == 0.0  # a handoff is not a tool run


async def test_parallel_tools_count_their_wall_time_once(server: OpenAICompatServer) -> None:
    rig = Rig(server)
    server.add(Reply.tool_calls([("slow_lookup", {"city": "Paris"}), ("slow_lookup", {"city": "Rome"})]),
               Reply.text("Sunny in both."))
    agent: Agent[Any] = Agent(name="Forecaster", instructions="Forecast.", model=rig.model, tools=[slow_lookup])
    await rig.run(agent, "parallel")
    tool_time = rig.root()[sc.OTELAGENTS_RUN_TOOL_TIME]
    assert TOOL_S <= tool_time < 2 * TOOL_S  # both slept TOOL_S side by side
    assert len(rig.spans(sc.OP_EXECUTE_TOOL)) == 2


async def test_a_run_without_text_has_no_first_text_and_a_refusal_counts(server: OpenAICompatServer) -> None:
    rig = Rig(server)
    server.add(Reply.refusal("I cannot help with that.", ttft=0.1))
    agent: Agent[Any] = Agent(name="Careful", instructions="Answer.", model=rig.model)
    try:
        await rig.run(agent, "refusal")
    except Exception:  # noqa: BLE001 - a refusal may end the run with an error; the latency is what counts
        pass
    root = rig.root()
    assert root[sc.OTELAGENTS_RUN_TIME_TO_FIRST_TEXT] >= 0.1  # the refusal is text the user sees
    assert root[sc.OTELAGENTS_RUN_MODEL_CALLS] == 1

    rig = Rig(server)
    server.add(Reply.status(500, message="down"))
    agent = Agent(name="Failing", instructions="Answer.", model=rig.model)
    with pytest.raises(openai.InternalServerError):
        await rig.run(agent, "failing")
    root = rig.root()
    assert sc.OTELAGENTS_RUN_TIME_TO_FIRST_TEXT not in root
    assert sc.OTELAGENTS_RUN_TIME_TO_FINAL_OUTPUT not in root
    assert root[sc.OTELAGENTS_RUN_MODEL_CALLS] == 1
    calls = rig.histogram(sc.METRIC_RUN_MODEL_CALLS)
    assert calls.attributes[sc.ERROR_TYPE] == "InternalServerError"
    assert not [s for s in rig.engine.collect() if s.name == sc.METRIC_RUN_TIME_TO_FIRST_TEXT and s.points]
