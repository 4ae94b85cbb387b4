"""What the OpenAI adapters send: request bodies and headers, as recorded by the real local server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import openai
import pytest

from otelagents.agent import Agent
from otelagents.handoffs import handoff
from otelagents.model_settings import ModelSettings
from otelagents.models.interface import ModelTracing
from otelagents.testing.server import OpenAICompatServer, RecordedRequest, Reply
from otelagents.tool import function_tool

from .test_openai_adapters import make_model, stream


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer(responder=lambda request: Reply.text("ok")) as srv:
        yield srv


@pytest.fixture
async def client(server: OpenAICompatServer) -> AsyncIterator[openai.AsyncOpenAI]:
    c = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0, timeout=10)
    yield c
    await c.close()


@function_tool
def get_weather(city: str, units: Literal["c", "f"] = "c") -> str:
    """Weather for a city.

    Args:
        city: The city.
        units: Temperature units.
    """
    return f"sunny in {city}"


SPANISH = Agent(name="Spanish Agent", instructions="Habla español.")
TRANSFER = handoff(SPANISH)


async def send(api: str, server: OpenAICompatServer, client: openai.AsyncOpenAI, **kwargs: Any) -> RecordedRequest:
    await stream(make_model(api, client), **kwargs)
    return server.requests[-1]


async def test_responses_body(server: OpenAICompatServer, client: openai.AsyncOpenAI) -> None:
    request = await send("responses", server, client, tools=[get_weather], handoffs=[TRANSFER])
    assert request.path == "/v1/responses"
    assert request.headers["authorization"] == "Bearer test"
    body = request.body
    assert body == {
        "model": "gpt-test", "input": "Hi", "include": [], "stream": True, "instructions": "Be brief.",
        "tools": [
            {"type": "function", "name": "get_weather", "description": "Weather for a city.",
             "parameters": get_weather.params_json_schema, "strict": True},
            {"type": "function", "name": "transfer_to_spanish_agent",
             "description": "Handoff to the Spanish Agent agent to handle the request. ",
             "parameters": {"additionalProperties": False, "type": "object", "properties": {}, "required": []},
             "strict": True},
        ],
    }
    assert body["tools"][0]["parameters"]["required"] == ["city", "units"]
    assert body["tools"][0]["parameters"]["additionalProperties"] is False


async def test_chat_body(server: OpenAICompatServer, client: openai.AsyncOpenAI) -> None:
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
         "arguments": '{"city":"Paris"}', "status": "completed"},
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny in Paris"},
        {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "It is sunny.", "annotations": []}]},
        {"role": "user", "content": [{"type": "input_text", "text": "Thanks"}]},
    ]
    request = await send("chat_completions", server, client, input=history, tools=[get_weather],
                         handoffs=[TRANSFER], settings=ModelSettings(parallel_tool_calls=True))
    assert request.path == "/v1/chat/completions"
    body = request.body
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather",
                                                               "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny in Paris"},
        {"role": "assistant", "content": "It is sunny."},
        {"role": "user", "content": [{"type": "text", "text": "Thanks"}]},
    ]
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "transfer_to_spanish_agent"]
    assert body["tools"][0] == {"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city.",
        "parameters": get_weather.params_json_schema, "strict": True}}
    assert body["parallel_tool_calls"] is True
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


async def test_chat_sends_parallel_tool_calls_only_with_tools(server: OpenAICompatServer,
                                                              client: openai.AsyncOpenAI) -> None:
    body = (await send("chat_completions", server, client, settings=ModelSettings(parallel_tool_calls=True))).body
    assert "parallel_tool_calls" not in body and "tools" not in body


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_unset_settings_are_not_sent(api: str, server: OpenAICompatServer,
                                           client: openai.AsyncOpenAI) -> None:
    body = (await send(api, server, client, instructions=None)).body
    for key in ("temperature", "top_p", "tool_choice", "parallel_tool_calls", "truncation", "max_output_tokens",
                "max_tokens", "reasoning", "metadata", "store", "text", "instructions", "response_format"):
        assert key not in body, key
    if api == "chat_completions":
        assert body["messages"] == [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_set_settings_are_sent(api: str, server: OpenAICompatServer, client: openai.AsyncOpenAI) -> None:
    settings = ModelSettings(temperature=0.2, top_p=0.9, max_tokens=50, tool_choice="get_weather",
                             metadata={"k": "v"}, store=False, extra_args={"seed": 7},
                             extra_body={"custom": 1}, extra_query={"api-version": "x"},
                             extra_headers={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    request = await send(api, server, client, settings=settings, tools=[get_weather])
    body = request.body
    assert (body["temperature"], body["top_p"], body["metadata"], body["store"]) == (0.2, 0.9, {"k": "v"}, False)
    assert body["seed"] == 7 and body["custom"] == 1
    assert request.path.endswith("?api-version=x")
    assert request.headers["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    if api == "responses":
        assert body["max_output_tokens"] == 50 and "max_tokens" not in body
        assert body["tool_choice"] == {"type": "function", "name": "get_weather"}
    else:
        assert body["max_tokens"] == 50
        assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_extra_args_clashing_with_a_request_key_raise_type_error(
        api: str, server: OpenAICompatServer, client: openai.AsyncOpenAI) -> None:
    with pytest.raises(TypeError, match="'model'"):
        await send(api, server, client, settings=ModelSettings(extra_args={"model": "other"}))
    assert server.requests == []


async def test_responses_passes_input_items_and_ids(server: OpenAICompatServer, client: openai.AsyncOpenAI) -> None:
    from openai.types.responses import ResponseFunctionToolCall

    call = ResponseFunctionToolCall(type="function_call", id="fc_1", call_id="call_1", name="get_weather",
                                    arguments="{}", status="completed")
    items = [{"role": "user", "content": "Hi"}, call,
             {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}]
    model = make_model("responses", client)
    events = [ev async for ev in model.stream_response(None, items, ModelSettings(), [], None, [],
                                                       ModelTracing.DISABLED, previous_response_id="resp_prev",
                                                       conversation_id="conv_1")]
    assert events[-1].type == "response.completed"
    body = server.requests[-1].body
    assert body["input"][1] == {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
                                "arguments": "{}", "status": "completed"}
    assert (body["previous_response_id"], body["conversation"]) == ("resp_prev", "conv_1")
