"""Finish reasons exactly as the server said, on both APIs, and the Agents SDK's exceptions and messages.

Over the real HTTP server and the real ``openai`` client: a normal stop, tool calls, truncation (Chat
``finish_reason: "length"``, Responses ``incomplete_details.reason: "max_output_tokens"``) with and without
output, and a content-filter stop with and without output. The chat span's ``gen_ai.response.finish_reasons``
must carry the server's reason in the API's own words; failures must raise what the Agents SDK 0.24.0 raises
(``ModelRefusalError`` for a content-filtered Chat answer with no output, ``ModelBehaviorError`` otherwise),
with messages that name the API actually used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otelagents
from otelagents import Agent, RunConfig, Runner, function_tool
from otelagents.exceptions import ModelBehaviorError, ModelRefusalError
from otelagents.models.openai_chatcompletions import OpenAIChatCompletionsModel
from otelagents.models.openai_responses import OpenAIResponsesModel
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import MetricsEngine
from otelagents.telemetry._observer import Telemetry
from otelagents.testing.server import OpenAICompatServer, Reply

CHAT, RESPONSES = "chat_completions", "responses"
FILTERED = "Response withheld by the provider's content filter."


@function_tool
def lookup(city: str) -> str:
    """Look a city up."""
    return f"sunny in {city}"


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer() as srv:
        yield srv


async def run(server: OpenAICompatServer, api: str, *replies: Reply) -> tuple[Any, BaseException | None, list[Any]]:
    """(final output, the exception the run raised, finish reasons of each chat span in call order)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry(provider, metrics=MetricsEngine())
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    model = (OpenAIResponsesModel if api == RESPONSES else OpenAIChatCompletionsModel)("gpt-finish", client)
    agent: Agent[Any] = Agent(name="Finisher", instructions="Answer.", model=model, tools=[lookup])
    server.add(*replies)
    result = Runner.run_streamed(agent, "hello", run_config=RunConfig(observers=[telemetry]))
    error: BaseException | None = None
    try:
        async for _ in result.stream_events():
            pass
    except Exception as exc:  # noqa: BLE001 - returned for the test to check
        error = exc
    finally:
        await client.close()
    chats = sorted((s for s in exporter.get_finished_spans() if s.name.startswith("chat ")),
                   key=lambda s: s.start_time or 0)
    reasons = [list((s.attributes or {})[sc.GEN_AI_RESPONSE_FINISH_REASONS]) for s in chats]
    return (result.final_output if error is None else None), error, reasons


@pytest.mark.parametrize("api", [RESPONSES, CHAT])
async def test_stop_and_tool_calls(server: OpenAICompatServer, api: str) -> None:
    output, error, reasons = await run(server, api, Reply.tool_calls([("lookup", {"city": "Paris"})]),
                                       Reply.text("Sunny."))
    assert (output, error, reasons) == ("Sunny.", None, [["tool_calls"], ["stop"]])


async def test_chat_length_after_text_keeps_the_text_and_says_length(server: OpenAICompatServer) -> None:
    output, error, reasons = await run(server, CHAT, Reply.text("A partial answer", finish_reason="length"))
    assert (output, error, reasons) == ("A partial answer", None, [["length"]])


async def test_responses_truncation_after_text_says_max_output_tokens(server: OpenAICompatServer) -> None:
    output, error, reasons = await run(server, RESPONSES, Reply.text("A partial answer", finish_reason="length"))
    assert isinstance(error, ModelBehaviorError)
    assert str(error).startswith("Responses stream ended with terminal event `response.incomplete`.")
    assert "max_output_tokens" in str(error)
    assert reasons == [["max_output_tokens"]]


@pytest.mark.parametrize(("api", "reason", "message"), [
    (CHAT, "length", "Chat Completions stream terminated with finish_reason='length' but produced no assistant "
                     "text, tool call, or refusal."),
    (RESPONSES, "max_output_tokens", "Responses stream ended with terminal event `response.incomplete`."),
])
async def test_truncation_with_no_output_names_the_api_used(server: OpenAICompatServer, api: str, reason: str,
                                                            message: str) -> None:
    _, error, reasons = await run(server, api, Reply.fault("incomplete"))
    assert isinstance(error, ModelBehaviorError) and not isinstance(error, ModelRefusalError)
    assert str(error).startswith(message), str(error)
    assert "Responses" not in str(error) or api == RESPONSES
    assert reasons == [[reason]]


async def test_chat_content_filter_with_no_output_raises_the_sdks_refusal(server: OpenAICompatServer) -> None:
    _, error, reasons = await run(server, CHAT, Reply(finish_reason="content_filter"))
    assert isinstance(error, ModelRefusalError)
    assert error.refusal == FILTERED
    assert reasons == [["content_filter"]]


async def test_chat_content_filter_after_text_keeps_the_text(server: OpenAICompatServer) -> None:
    output, error, reasons = await run(server, CHAT, Reply.text("Some of it", finish_reason="content_filter"))
    assert (output, error, reasons) == ("Some of it", None, [["content_filter"]])


async def test_responses_content_filter_is_a_behaviour_error_with_its_reason(server: OpenAICompatServer) -> None:
    _, error, reasons = await run(server, RESPONSES, Reply(finish_reason="content_filter"))
    assert isinstance(error, ModelBehaviorError) and not isinstance(error, ModelRefusalError)
    assert "content_filter" in str(error) and str(error).startswith("Responses stream")
    assert reasons == [["content_filter"]]


@pytest.mark.parametrize("api", [RESPONSES, CHAT])
async def test_a_refusal_raises_model_refusal_error(server: OpenAICompatServer, api: str) -> None:
    _, error, reasons = await run(server, api, Reply.refusal("I can't help with that."))
    assert isinstance(error, ModelRefusalError) and error.refusal == "I can't help with that."
    assert reasons == [["stop"]]


def test_model_refusal_error_is_exported_like_the_sdk() -> None:
    assert otelagents.ModelRefusalError is ModelRefusalError
    assert issubclass(ModelRefusalError, otelagents.AgentsException)
