"""Responses SSE streams with hosted tool calls (as the OpenAI API sends them), for ``Reply.raw_sse``."""

from __future__ import annotations

import json
import time
from typing import Any

from otelagents.testing._openai_wire import responses_frames, sse
from otelagents.testing.server import Reply

# (item type, the in-progress item, the completed item, the call's own progress events)
HOSTED: dict[str, tuple[dict[str, Any], dict[str, Any], list[str]]] = {
    "web_search_call": (
        {"type": "web_search_call", "status": "in_progress"},
        {"type": "web_search_call", "status": "completed", "action": {"type": "search", "query": "otel"}},
        ["response.web_search_call.in_progress", "response.web_search_call.searching",
         "response.web_search_call.completed"],
    ),
    "file_search_call": (
        {"type": "file_search_call", "status": "in_progress", "queries": []},
        {"type": "file_search_call", "status": "completed", "queries": ["otel"], "results": None},
        ["response.file_search_call.in_progress", "response.file_search_call.searching",
         "response.file_search_call.completed"],
    ),
    "code_interpreter_call": (
        {"type": "code_interpreter_call", "status": "in_progress", "code": None, "container_id": "cntr_1",
         "outputs": None},
        {"type": "code_interpreter_call", "status": "completed", "code": "print(6*7)", "container_id": "cntr_1",
         "outputs": [{"type": "logs", "logs": "42"}]},
        ["response.code_interpreter_call.in_progress", "response.code_interpreter_call.interpreting",
         "response.code_interpreter_call.completed"],
    ),
    "image_generation_call": (
        {"type": "image_generation_call", "status": "in_progress", "result": None},
        {"type": "image_generation_call", "status": "completed", "result": "aW1hZ2U="},
        ["response.image_generation_call.in_progress", "response.image_generation_call.generating",
         "response.image_generation_call.completed"],
    ),
}


def hosted_reply(kind: str, text: str, response_id: str = "resp_hosted_1") -> Reply:
    """One turn: a hosted ``kind`` call the server ran, then a one-delta text answer."""
    started, done, progress = HOSTED[kind]
    seq = iter(range(1000))
    frames: list[str] = []
    output: list[dict[str, Any]] = []

    def emit(event: str, **data: Any) -> None:
        frames.append(f"event: {event}\ndata: {json.dumps({'type': event, 'sequence_number': next(seq), **data})}\n\n")

    def response(status: str) -> dict[str, Any]:
        usage = {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8,
                 "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}
        return {"id": response_id, "object": "response", "created_at": 1, "model": "gpt-test", "status": status,
                "output": list(output) if status == "completed" else [], "parallel_tool_calls": True,
                "tool_choice": "auto", "tools": [], "error": None, "incomplete_details": None,
                "usage": usage if status == "completed" else None}

    emit("response.created", response=response("in_progress"))
    emit("response.in_progress", response=response("in_progress"))
    call_id = f"{kind[:2]}_1"
    emit("response.output_item.added", output_index=0, item={"id": call_id, **started})
    for event in progress:
        emit(event, output_index=0, item_id=call_id)
    output.append({"id": call_id, **done})
    emit("response.output_item.done", output_index=0, item=output[0])
    where = {"item_id": "msg_1", "output_index": 1, "content_index": 0}
    message = {"type": "message", "id": "msg_1", "role": "assistant", "status": "in_progress", "content": []}
    emit("response.output_item.added", output_index=1, item=message)
    emit("response.content_part.added", **where, part={"type": "output_text", "text": "", "annotations": []})
    emit("response.output_text.delta", **where, delta=text, logprobs=[])
    emit("response.output_text.done", **where, text=text, logprobs=[])
    part = {"type": "output_text", "text": text, "annotations": []}
    emit("response.content_part.done", **where, part=part)
    output.append({**message, "status": "completed", "content": [part]})
    emit("response.output_item.done", output_index=1, item=output[1])
    emit("response.completed", response=response("completed"))
    return Reply.raw_sse(frames)


def hosted_items_reply(text: str, items: list[dict[str, Any]]) -> Reply:
    """A Responses stream for ``text`` with hosted tool call items added and done before the message."""
    frames = [f.data for f in responses_frames(Reply.text(text), "gpt-4.1", "resp_hosted", int(time.time())).frames]
    hosted: list[bytes] = []
    for index, item in enumerate(items):
        for kind, status in (("response.output_item.added", "in_progress"), ("response.output_item.done",
                                                                             item.get("status", "completed"))):
            hosted.append(sse(kind, {"type": kind, "sequence_number": 0, "output_index": index,
                                     "item": {**item, "status": status}}))
    return Reply.raw_sse([frames[0], *hosted, *frames[1:]])
