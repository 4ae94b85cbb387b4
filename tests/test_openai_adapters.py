"""The OpenAI adapters against a real local HTTP server, through the real ``openai.AsyncOpenAI`` client.

Every test runs over both APIs (Responses and Chat Completions) unless it is about one wire format.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest
from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseRefusalDeltaEvent,
    ResponseTextDeltaEvent,
)
from pydantic import BaseModel

from otelagents.agent_output import AgentOutputSchema
from otelagents.model_settings import ModelSettings
from otelagents.models.interface import Model, ModelTracing
from otelagents.models.openai_chatcompletions import OpenAIChatCompletionsModel
from otelagents.models.openai_responses import OpenAIResponsesModel
from otelagents.testing.server import OpenAICompatServer, Reply
from otelagents.usage import Usage

APIS = ["responses", "chat_completions"]

TEXT_TYPES = ["response.created", "response.in_progress", "response.output_item.added",
              "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
              "response.output_text.delta", "response.output_text.done", "response.content_part.done",
              "response.output_item.done", "response.completed"]
CALL_TYPES = ["response.created", "response.in_progress", "response.output_item.added",
              "response.function_call_arguments.delta", "response.function_call_arguments.delta",
              "response.function_call_arguments.done", "response.output_item.done", "response.completed"]


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer() as srv:
        yield srv


@pytest.fixture
async def client(server: OpenAICompatServer) -> AsyncIterator[openai.AsyncOpenAI]:
    c = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=2, timeout=10)
    yield c
    await c.close()


def make_model(api: str, client: openai.AsyncOpenAI, name: str = "gpt-test") -> Model:
    cls = OpenAIResponsesModel if api == "responses" else OpenAIChatCompletionsModel
    return cls(name, client)


async def stream(model: Model, *, instructions: str | None = "Be brief.", input: Any = "Hi",
                 settings: ModelSettings | None = None, tools: list[Any] | None = None,
                 output_schema: AgentOutputSchema | None = None, handoffs: list[Any] | None = None,
                 timeout: float = 10.0) -> list[Any]:
    """All events of one call, each checked: genuine openai model, strict round trip, increasing sequence."""

    async def run() -> list[Any]:
        return [ev async for ev in model.stream_response(
            instructions, input, settings or ModelSettings(), tools or [], output_schema, handoffs or [],
            ModelTracing.DISABLED)]

    events = await asyncio.wait_for(run(), timeout)
    check_events(events)
    return events


def check_events(events: list[Any]) -> None:
    numbers = [ev.sequence_number for ev in events]
    assert numbers == sorted(set(numbers)), f"sequence numbers not strictly increasing: {numbers}"
    assert numbers[0] == 0
    for ev in events:
        assert type(ev).__module__.startswith("openai.types.responses"), type(ev)
        again = type(ev).model_validate(ev.model_dump())
        assert again.model_dump() == ev.model_dump()


def types(events: list[Any]) -> list[str]:
    return [ev.type for ev in events]


@pytest.mark.parametrize("api", APIS)
async def test_text_answer_streams_genuine_events(api: str, server: OpenAICompatServer,
                                                  client: openai.AsyncOpenAI) -> None:
    server.add(Reply.text("Hello there friend"))
    events = await stream(make_model(api, client))
    assert types(events) == TEXT_TYPES
    deltas = [ev for ev in events if isinstance(ev, ResponseTextDeltaEvent)]
    assert "".join(d.delta for d in deltas) == "Hello there friend"
    completed = events[-1]
    assert isinstance(completed, ResponseCompletedEvent)
    message = completed.response.output[0]
    assert isinstance(message, ResponseOutputMessage)
    assert message.content[0].text == "Hello there friend"  # type: ignore[union-attr]
    assert message.id.startswith("msg_") and deltas[0].item_id == message.id
    assert completed.response.model == "gpt-test"
    assert completed.response.id != message.id
    assert Usage.from_response_usage(completed.response.usage).output_tokens == 3


@pytest.mark.parametrize("api", APIS)
async def test_tool_call(api: str, server: OpenAICompatServer, client: openai.AsyncOpenAI) -> None:
    server.add(Reply.tool_calls([("get_weather", {"city": "Paris"}, "call_abc")]))
    events = await stream(make_model(api, client))
    assert types(events) == CALL_TYPES
    call = events[-1].response.output[0]
    assert isinstance(call, ResponseFunctionToolCall)
    assert (call.name, call.call_id, json.loads(call.arguments)) == ("get_weather", "call_abc", {"city": "Paris"})
    assert call.id is not None and call.id.startswith("fc_") and call.id != call.call_id
    deltas = [ev for ev in events if isinstance(ev, ResponseFunctionCallArgumentsDeltaEvent)]
    assert {d.item_id for d in deltas} == {call.id}
    assert "".join(d.delta for d in deltas) == call.arguments


@pytest.mark.parametrize("api", APIS)
async def test_parallel_tool_calls_keep_order_and_indexes(api: str, server: OpenAICompatServer,
                                                          client: openai.AsyncOpenAI) -> None:
    server.add(Reply.tool_calls([("get_weather", {"city": "Paris"}), ("get_time", {"tz": "CET"})]))
    events = await stream(make_model(api, client))
    output = events[-1].response.output
    assert [(c.name, c.call_id) for c in output] == [("get_weather", "call_1_get_weather"),
                                                     ("get_time", "call_2_get_time")]
    added = [(ev.output_index, ev.item.id) for ev in events if ev.type == "response.output_item.added"]
    assert added == [(0, output[0].id), (1, output[1].id)]
    assert types(events) == CALL_TYPES[:-1] + CALL_TYPES[2:]


@pytest.mark.parametrize("api", APIS)
async def test_refusal(api: str, server: OpenAICompatServer, client: openai.AsyncOpenAI) -> None:
    server.add(Reply.refusal("I can't help with that"))
    events = await stream(make_model(api, client))
    assert any(isinstance(ev, ResponseRefusalDeltaEvent) for ev in events)
    assert "response.refusal.done" in types(events)
    part = events[-1].response.output[0].content[0]
    assert (part.type, part.refusal) == ("refusal", "I can't help with that")


class Weather(BaseModel):
    city: str
    sunny: bool


@pytest.mark.parametrize("api", APIS)
async def test_structured_output_request_and_answer(api: str, server: OpenAICompatServer,
                                                    client: openai.AsyncOpenAI) -> None:
    server.add(Reply.json({"city": "Paris", "sunny": True}))
    schema = AgentOutputSchema(Weather)
    events = await stream(make_model(api, client), output_schema=schema)
    text = events[-1].response.output[0].content[0].text
    assert schema.validate_json(text) == Weather(city="Paris", sunny=True)
    body = server.requests[0].body
    if api == "responses":
        assert body["text"] == {"format": {"type": "json_schema", "name": "final_output",
                                           "schema": schema.json_schema(), "strict": True}}
    else:
        assert body["response_format"] == {"type": "json_schema", "json_schema": {
            "name": "final_output", "strict": True, "schema": schema.json_schema()}}


@pytest.mark.parametrize("api", APIS)
async def test_usage_is_mapped(api: str, server: OpenAICompatServer, client: openai.AsyncOpenAI) -> None:
    server.add(Reply.text("Hi there", usage=(20, 7, 5, 3)))
    events = await stream(make_model(api, client))
    usage = Usage.from_response_usage(events[-1].response.usage)
    assert (usage.requests, usage.input_tokens, usage.output_tokens, usage.total_tokens) == (1, 20, 7, 27)
    assert usage.input_tokens_details.cached_tokens == 5
    assert usage.output_tokens_details.reasoning_tokens == 3


async def test_chat_without_include_usage_records_usage_as_unknown(server: OpenAICompatServer,
                                                                   client: openai.AsyncOpenAI) -> None:
    server.add(Reply.text("Hi there"), Reply.text("Hi there"))
    model = make_model("chat_completions", client)
    default = await stream(model)
    assert server.requests[0].body["stream_options"] == {"include_usage": True}
    assert default[-1].response.usage is not None
    opted_out = await stream(model, settings=ModelSettings(include_usage=False))
    assert "stream_options" not in server.requests[1].body
    assert opted_out[-1].response.usage is None
    assert Usage.from_response_usage(opted_out[-1].response.usage) == Usage(requests=1)


@pytest.mark.parametrize("reply", [Reply.text("One two three"), Reply.tool_calls([("f", {"a": 1})]),
                                   Reply.tool_calls([("f", {}), ("g", {})]), Reply.refusal("No thanks"),
                                   Reply.handoff("transfer_to_spanish_agent")], ids=str)
async def test_event_types_identical_between_apis(reply: Reply, server: OpenAICompatServer,
                                                  client: openai.AsyncOpenAI) -> None:
    server.add(reply, reply)
    responses = await stream(make_model("responses", client))
    chat = await stream(make_model("chat_completions", client))
    assert types(chat) == types(responses)
    assert [ev.sequence_number for ev in chat] == [ev.sequence_number for ev in responses]
    assert [getattr(ev, "output_index", None) for ev in chat] == [
        getattr(ev, "output_index", None) for ev in responses]


@pytest.mark.parametrize("api", APIS)
async def test_describe(api: str, server: OpenAICompatServer, client: openai.AsyncOpenAI) -> None:
    info = make_model(api, client, "gpt-x").describe()
    assert (info.request_model, info.provider_name, info.api) == ("gpt-x", "openai", api)
    assert (info.server_address, info.server_port) == ("127.0.0.1", server.port)
    remote = openai.AsyncOpenAI(base_url="https://api.example.com/v1", api_key="k")
    info = make_model(api, remote).describe()
    assert (info.server_address, info.server_port) == ("api.example.com", 443)
    await remote.close()
