"""``gen_ai.tool.definitions`` on the chat span: the function tools and handoff targets the model was offered,
as the GenAI conventions' Tool Definitions (content capture only, it can be large)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otelagents import Agent, RunConfig, Runner, function_tool
from otelagents.models.openai_responses import OpenAIResponsesModel
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import MetricsEngine
from otelagents.telemetry._observer import Telemetry
from otelagents.testing.server import OpenAICompatServer, Reply


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer() as srv:
        yield srv


async def chat_spans(server: OpenAICompatServer, capture: bool, with_tools: bool) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry(provider, metrics=MetricsEngine(), capture_content=capture)
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    model = OpenAIResponsesModel("gpt-tools", client)
    billing: Agent[Any] = Agent(name="Billing", instructions="Bill.", model=model, handoff_description="Invoices")
    agent: Agent[Any] = Agent(name="Triage", instructions="Route.", model=model,
                              tools=[get_weather] if with_tools else [], handoffs=[billing] if with_tools else [])
    server.add(Reply.text("Hello"))
    result = Runner.run_streamed(agent, "hi", run_config=RunConfig(observers=[telemetry]))
    async for _ in result.stream_events():
        pass
    await client.close()
    return [s for s in exporter.get_finished_spans() if s.name.startswith("chat ")]


async def test_tools_and_handoff_targets_are_listed_with_content_capture(server: OpenAICompatServer) -> None:
    (chat,) = await chat_spans(server, capture=True, with_tools=True)
    definitions = json.loads(str((chat.attributes or {})[sc.GEN_AI_TOOL_DEFINITIONS]))
    assert [(d["type"], d["name"]) for d in definitions] == [("function", "get_weather"),
                                                             ("function", "transfer_to_billing")]
    weather, handoff = definitions
    assert weather["description"] == "The weather in a city."
    assert weather["parameters"]["properties"]["city"]["type"] == "string"
    assert "Billing" in handoff["description"] and "Invoices" in handoff["description"]


async def test_no_definitions_without_content_capture_or_without_tools(server: OpenAICompatServer) -> None:
    (chat,) = await chat_spans(server, capture=False, with_tools=True)
    assert sc.GEN_AI_TOOL_DEFINITIONS not in (chat.attributes or {})
    (chat,) = await chat_spans(server, capture=True, with_tools=False)
    assert sc.GEN_AI_TOOL_DEFINITIONS not in (chat.attributes or {})
    assert sc.GEN_AI_INPUT_MESSAGES in (chat.attributes or {})  # content capture was on
