"""Odd but real wire shapes: the SSE framing edge cases, and Chat servers that bend the format.

SSE parsing is tested on bytes split at every position; the Chat cases go through the real server and
client with verbatim SSE frames (``Reply.raw_sse``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otelagents.exceptions import ModelBehaviorError
from otelagents.models._decode import decode_event
from otelagents.models._sse import SSEParser
from otelagents.testing.server import OpenAICompatServer, Reply

from .test_openai_adapters import make_model, stream
from .test_openai_errors import partial


def parse_all(pieces: list[bytes]) -> list[tuple[str | None, bytes]]:
    parser = SSEParser()
    out = []
    for piece in pieces:
        out.extend(parser.feed(piece))
    return out + parser.flush()


STREAM = (b"event: response.created\r\ndata: {\"a\":1}\r\n\r\n"
          b": a comment\n"
          b"id: 7\nretry: 100\n"
          b"data:{\"b\":2}\n\n"
          b"event:x\ndata: line one\ndata: line two\r\r"
          b"data: [DONE]\n\n"
          b"data: last without blank line")
EXPECTED = [("response.created", b'{"a":1}'), (None, b'{"b":2}'), ("x", b"line one\nline two"),
            (None, b"[DONE]"), (None, b"last without blank line")]


def test_sse_parser_handles_fields_comments_and_line_endings() -> None:
    assert parse_all([STREAM]) == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
@settings(max_examples=200, deadline=None)
def test_sse_parser_is_independent_of_chunk_boundaries(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    pieces = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    assert parse_all(pieces) == EXPECTED


def test_decode_keeps_unknown_events_and_fills_missing_logprobs() -> None:
    unknown = decode_event("response.future_thing", b'{"type":"response.future_thing","sequence_number":3,"x":1}')
    assert isinstance(unknown, openai.BaseModel)
    assert (unknown.type, unknown.sequence_number, unknown.x) == ("response.future_thing", 3, 1)  # type: ignore
    delta = decode_event(None, b'{"type":"response.output_text.delta","sequence_number":1,"item_id":"m",'
                               b'"output_index":0,"content_index":0,"delta":"x"}')
    assert delta.logprobs == []  # type: ignore[union-attr]
    with pytest.raises(ModelBehaviorError, match="expected a JSON object"):
        decode_event("error", b"[1, 2]")


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer() as srv:
        yield srv


@pytest.fixture
async def client(server: OpenAICompatServer) -> AsyncIterator[openai.AsyncOpenAI]:
    c = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0, timeout=10)
    yield c
    await c.close()


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> str:
    body: dict[str, Any] = {"id": "chatcmpl-odd", "object": "chat.completion.chunk", "created": 1700000000,
                            "model": "odd-model"}
    if delta is not None or finish is not None:
        body["choices"] = [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    body.update(extra)
    return f"data: {json.dumps(body)}\n\n"


async def test_chat_tolerates_null_choices_early_usage_and_split_tool_fragments(
        server: OpenAICompatServer, client: openai.AsyncOpenAI) -> None:
    server.add(Reply.raw_sse([
        chunk(choices=None),
        chunk(usage={"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}),
        chunk({"role": "assistant", "content": ""}),
        chunk({"tool_calls": [{"index": 0, "function": {"name": "lookup"}}]}),  # no id yet
        chunk({"tool_calls": [{"index": 0, "id": "call_late", "function": {"arguments": '{"q":'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"x"}'}}]}),
        chunk(finish="tool_calls"),
        "data: [DONE]\n\n",
    ]))
    events = await stream(make_model("chat_completions", client))
    response = events[-1].response
    assert (response.id, response.model, int(response.created_at)) == ("chatcmpl-odd", "odd-model", 1700000000)
    call = response.output[0]
    assert (call.name, call.call_id, call.arguments) == ("lookup", "call_late", '{"q":"x"}')
    assert (response.usage.input_tokens, response.usage.output_tokens) == (4, 2)


async def test_chat_finish_without_done_completes(server: OpenAICompatServer, client: openai.AsyncOpenAI) -> None:
    server.add(Reply.raw_sse([chunk({"role": "assistant", "content": "Hi"}), chunk(finish="stop")]))
    events = await stream(make_model("chat_completions", client))
    assert events[-1].type == "response.completed"
    assert events[-1].response.usage is None


async def test_chat_text_then_tool_call_are_two_items_in_order(server: OpenAICompatServer,
                                                               client: openai.AsyncOpenAI) -> None:
    server.add(Reply.tool_calls([("f", {"a": 1})], text="Let me check."))
    events = await stream(make_model("chat_completions", client))
    output = events[-1].response.output
    assert [item.type for item in output] == ["message", "function_call"]
    done = [(ev.output_index, ev.item.type) for ev in events if ev.type == "response.output_item.done"]
    assert done == [(0, "message"), (1, "function_call")]


async def test_chat_interleaved_tool_fragments_are_rejected_clearly(server: OpenAICompatServer,
                                                                    client: openai.AsyncOpenAI) -> None:
    server.add(Reply.raw_sse([
        chunk({"tool_calls": [{"index": 0, "id": "c0", "function": {"name": "a", "arguments": "{"}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "c1", "function": {"name": "b", "arguments": "{}"}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}),
        chunk(finish="tool_calls"), "data: [DONE]\n\n",
    ]))
    _events, error = await partial(make_model("chat_completions", client))
    assert isinstance(error, ModelBehaviorError) and "interleaved" in str(error)


async def test_chat_length_with_output_completes_and_without_output_is_incomplete(
        server: OpenAICompatServer, client: openai.AsyncOpenAI) -> None:
    server.add(Reply.raw_sse([chunk({"content": "Trunc"}), chunk(finish="length"), "data: [DONE]\n\n"]),
               Reply.raw_sse([chunk({"content": ""}), chunk(finish="length"), "data: [DONE]\n\n"]))
    model = make_model("chat_completions", client)
    assert (await stream(model))[-1].type == "response.completed"
    last = (await stream(model))[-1]
    assert last.type == "response.incomplete"
    assert last.response.incomplete_details.reason == "max_output_tokens"


@pytest.mark.parametrize("frames", [[], ["data: [DONE]\n\n"], [chunk({"content": "Hi"})]],
                         ids=["empty", "done-only", "no-finish"])
async def test_chat_stream_ending_early_is_an_error(frames: list[str], server: OpenAICompatServer,
                                                    client: openai.AsyncOpenAI) -> None:
    server.add(Reply.raw_sse(frames))
    _events, error = await partial(make_model("chat_completions", client))
    assert isinstance(error, ModelBehaviorError)
    assert "connection closed before the response completed" in str(error)


async def test_responses_without_event_lines_still_decode(server: OpenAICompatServer,
                                                          client: openai.AsyncOpenAI) -> None:
    resp = {"id": "resp_x", "object": "response", "created_at": 1, "model": "m", "status": "completed",
            "output": [], "parallel_tool_calls": True, "tool_choice": "auto", "tools": []}
    server.add(Reply.raw_sse([
        f"data: {json.dumps({'type': 'response.created', 'sequence_number': 0, 'response': resp})}\n\n",
        f"data: {json.dumps({'type': 'response.completed', 'sequence_number': 1, 'response': resp})}\n\n",
    ]))
    events = await stream(make_model("responses", client))
    assert [type(ev).__name__ for ev in events] == ["ResponseCreatedEvent", "ResponseCompletedEvent"]
