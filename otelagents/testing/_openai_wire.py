"""What the fake OpenAI-compatible server says: scripted replies, rendered as real SSE bytes.

A ``Reply`` describes one model turn (text, refusal, tool calls, usage, timing, a fault or an HTTP status).
``responses_frames`` and ``chat_frames`` render it as the wire format of the Responses API (reference §11.1)
and of Chat Completions (§11.2), as a list of ``Frame``s that the server writes, sleeps between, or
interrupts, as the reply's timing and fault say.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Fault = Literal[
    "drop_mid_stream",  # close the socket halfway through the output (the chunked body is left unfinished)
    "garbage",  # an event whose data is not JSON, halfway through
    "failed",  # Responses: response.failed; Chat: a {"error": ...} chunk
    "incomplete",  # Responses: response.incomplete; Chat: finish_reason "length" with no output
    "error_event",  # Responses: an "error" event; Chat: a {"error": ...} chunk
    "no_terminal",  # every event but the terminal one (Chat: no finish_reason, no [DONE]); body ends cleanly
    "stall",  # send half the output, then nothing until ``stall_seconds`` pass (or the server closes)
    "html_page",  # a 200 with Content-Type text/html and a web page (a wrong base URL, a proxy's login page)
]
FAULTS: tuple[str, ...] = Fault.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ToolCallSpec:
    name: str
    arguments: str
    call_id: str


@dataclass(frozen=True)
class Reply:
    """One scripted model turn. Build with the class methods; adjust with ``dataclasses.replace``."""

    output_text: str | None = None
    refusal_text: str | None = None
    calls: tuple[ToolCallSpec, ...] = ()
    chunks: int | None = None  # deltas for the text (default: one per word); tool arguments use 2
    usage: tuple[int, int, int, int] | None = (11, -1, 0, 0)  # input, output (-1: one per delta), cached, reasoning
    ttft: float = 0.0  # seconds before the first delta
    gap: float = 0.0  # seconds between deltas
    model: str | None = None  # default: the request's model
    fault_kind: Fault | None = None
    stall_seconds: float = 30.0
    http_status: int | None = None
    retry_after: float | None = None
    error_message: str | None = None
    raw_frames: tuple[bytes, ...] | None = None  # served verbatim instead of a rendered stream
    # The server stops the answer early, after its output: "length" or "content_filter" (Chat: that
    # finish_reason; Responses: response.incomplete holding the output, reason max_output_tokens or content_filter)
    finish_reason: str | None = None

    @classmethod
    def text(cls, text: str, *, chunks: int | None = None, **options: Any) -> Reply:
        return cls(output_text=text, chunks=chunks, **options)

    @classmethod
    def long(cls, deltas: int, piece: str = "tok ", **options: Any) -> Reply:
        """A text answer of exactly ``deltas`` deltas (for benchmarks)."""
        return cls(output_text=piece * deltas, chunks=deltas, **options)

    @classmethod
    def json(cls, value: Any, **options: Any) -> Reply:
        """A structured-output answer: ``value`` as JSON text."""
        return cls(output_text=json.dumps(value), chunks=options.pop("chunks", 3), **options)

    @classmethod
    def refusal(cls, text: str, **options: Any) -> Reply:
        return cls(refusal_text=text, **options)

    @classmethod
    def tool_calls(
        cls, calls: Sequence[tuple[str, Any] | tuple[str, Any, str]], *, text: str | None = None, **options: Any
    ) -> Reply:
        """Function calls: ``(name, arguments)`` or ``(name, arguments, call_id)``; arguments may be a dict."""
        specs = []
        for i, call in enumerate(calls):
            name, arguments = call[0], call[1]
            call_id = call[2] if len(call) > 2 else f"call_{i + 1}_{name}"
            args = arguments if isinstance(arguments, str) else json.dumps(arguments)
            specs.append(ToolCallSpec(name=name, arguments=args, call_id=call_id))
        return cls(output_text=text, calls=tuple(specs), **options)

    @classmethod
    def handoff(cls, tool_name: str, arguments: Any = None, **options: Any) -> Reply:
        return cls.tool_calls([(tool_name, arguments if arguments is not None else "{}")], **options)

    @classmethod
    def fault(cls, kind: Fault, text: str = "Partial answer that will not finish", **options: Any) -> Reply:
        """A turn that goes wrong in the way ``kind`` says (see ``Fault``)."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; choose one of {', '.join(FAULTS)}")
        return cls(output_text=text, fault_kind=kind, **options)

    @classmethod
    def raw_sse(cls, frames: Sequence[bytes | str], **options: Any) -> Reply:
        """A stream of exactly these SSE bytes (for odd servers: ``choices: null``, split fragments, ...)."""
        return cls(raw_frames=tuple(f.encode() if isinstance(f, str) else f for f in frames), **options)

    @classmethod
    def status(cls, code: int, *, retry_after: float | None = None, message: str | None = None) -> Reply:
        return cls(http_status=code, retry_after=retry_after, error_message=message)

    def with_(self, **changes: Any) -> Reply:
        return replace(self, **changes)


def split_text(text: str, chunks: int | None) -> list[str]:
    if not text:
        return []
    if chunks is None:
        return re.findall(r"\s*\S+|\s+$", text) or [text]
    chunks = max(1, min(chunks, len(text)))
    size, extra = divmod(len(text), chunks)
    out, start = [], 0
    for i in range(chunks):
        end = start + size + (1 if i < extra else 0)
        out.append(text[start:end])
        start = end
    return out


def split_arguments(arguments: str) -> list[str]:
    if len(arguments) < 2:
        return [arguments] if arguments else []
    half = len(arguments) // 2
    return [arguments[:half], arguments[half:]]


@dataclass
class Frame:
    """Bytes to write, and whether they count as a delta (for the timing) or are the mid-stream point."""

    data: bytes
    delta: bool = False


@dataclass
class Rendered:
    frames: list[Frame] = field(default_factory=list)
    mid: int = 0  # index of the frame where a mid-stream fault strikes


def usage_numbers(reply: Reply, deltas: int) -> tuple[int, int, int, int] | None:
    if reply.usage is None:
        return None
    inp, out, cached, reasoning = reply.usage
    return inp, (deltas if out < 0 else out), cached, reasoning


def garbage_frame(event: str | None) -> Frame:
    head = f"event: {event}\n".encode() if event else b""
    return Frame(head + b"data: {this is not json\n\n")


_encode = json.JSONEncoder(separators=(",", ":")).encode
_string = json.encoder.encode_basestring


def sse(event: str | None, payload: dict[str, Any]) -> bytes:
    body = _encode(payload)
    if event is None:
        return f"data: {body}\n\n".encode()
    return f"event: {event}\ndata: {body}\n\n".encode()


def delta_sse(event: str, seq: int, where: str, delta: str, tail: str = "") -> bytes:
    """A delta event, from a template (the server renders tens of thousands of these for benchmarks)."""
    return (f'event: {event}\ndata: {{"type":"{event}","sequence_number":{seq},{where},'
            f'"delta":{_string(delta)}{tail}}}\n\n').encode()


# --- Responses API ----------------------------------------------------------------------------------------
def responses_frames(reply: Reply, model: str, response_id: str, created_at: int) -> Rendered:
    """The Responses SSE stream for ``reply`` (reference §11.1), with faults applied by the caller."""
    seq = iter(range(1 << 30))
    frames: list[Frame] = []
    output: list[dict[str, Any]] = []
    deltas = 0

    def emit(event: str, *, is_delta: bool = False, **data: Any) -> None:
        frames.append(Frame(sse(event, {"type": event, "sequence_number": next(seq), **data}), is_delta))

    def response(status: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": response_id, "object": "response", "created_at": created_at, "model": model,
            "status": status, "output": list(output) if status != "in_progress" else [],
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "error": None,
            "incomplete_details": None, "usage": None, **extra,
        }

    emit("response.created", response=response("in_progress"))
    emit("response.in_progress", response=response("in_progress"))
    fault = reply.fault_kind
    if fault == "failed":
        error = {"code": "server_error", "message": reply.error_message or "The model failed."}
        emit("response.failed", response=response("failed", error=error))
    elif fault == "incomplete":
        emit("response.incomplete", response=response("incomplete", incomplete_details={"reason": "max_output_tokens"}))
    elif fault == "error_event":
        emit("error", code="server_error", message=reply.error_message or "Something went wrong.", param=None)
    if fault in ("failed", "incomplete", "error_event"):
        return Rendered(frames, mid=len(frames))
    prelude = len(frames)
    message_parts = [("output_text", reply.output_text), ("refusal", reply.refusal_text)]
    for kind, text in message_parts:
        if text is None:
            continue
        index, item_id = len(output), f"msg_{response_id[5:]}_{len(output)}"
        where: dict[str, Any] = {"item_id": item_id, "output_index": index, "content_index": 0}
        empty = {"type": "output_text", "text": "", "annotations": []} if kind == "output_text" else {
            "type": "refusal", "refusal": ""}
        item = {"type": "message", "id": item_id, "role": "assistant", "status": "in_progress", "content": []}
        emit("response.output_item.added", output_index=index, item=item)
        emit("response.content_part.added", **where, part=empty)
        pieces = split_text(text, reply.chunks)
        event, tail = ("response.output_text.delta", ',"logprobs":[]') if kind == "output_text" else (
            "response.refusal.delta", "")
        template = _encode(where)[1:-1]
        for piece in pieces:
            frames.append(Frame(delta_sse(event, next(seq), template, piece, tail), True))
        deltas += len(pieces)
        if kind == "output_text":
            emit("response.output_text.done", **where, text=text, logprobs=[])
            part: dict[str, Any] = {"type": "output_text", "text": text, "annotations": []}
        else:
            emit("response.refusal.done", **where, refusal=text)
            part = {"type": "refusal", "refusal": text}
        emit("response.content_part.done", **where, part=part)
        done = {**item, "status": "completed", "content": [part]}
        output.append(done)
        emit("response.output_item.done", output_index=index, item=done)
    for call in reply.calls:
        index, item_id = len(output), f"fc_{response_id[5:]}_{len(output)}"
        item = {"type": "function_call", "id": item_id, "call_id": call.call_id, "name": call.name,
                "arguments": "", "status": "in_progress"}
        emit("response.output_item.added", output_index=index, item=item)
        pieces = split_arguments(call.arguments)
        template = _encode({"item_id": item_id, "output_index": index})[1:-1]
        for piece in pieces:
            frames.append(Frame(delta_sse("response.function_call_arguments.delta", next(seq), template, piece),
                                True))
        deltas += len(pieces)
        emit("response.function_call_arguments.done", item_id=item_id, output_index=index, arguments=call.arguments)
        done = {**item, "arguments": call.arguments, "status": "completed"}
        output.append(done)
        emit("response.output_item.done", output_index=index, item=done)
    mid = prelude + (len(frames) - prelude) // 2
    numbers = usage_numbers(reply, deltas)
    usage = None if numbers is None else {
        "input_tokens": numbers[0], "input_tokens_details": {"cached_tokens": numbers[2], "cache_write_tokens": 0},
        "output_tokens": numbers[1], "output_tokens_details": {"reasoning_tokens": numbers[3]},
        "total_tokens": numbers[0] + numbers[1],
    }
    if reply.finish_reason is not None:
        reason = _INCOMPLETE_REASONS.get(reply.finish_reason, reply.finish_reason)
        emit("response.incomplete", response=response("incomplete", usage=usage, incomplete_details={"reason": reason}))
    elif fault != "no_terminal":
        emit("response.completed", response=response("completed", usage=usage))
    return Rendered(frames, mid=mid)


_INCOMPLETE_REASONS = {"length": "max_output_tokens"}


# --- Chat Completions -------------------------------------------------------------------------------------
def chat_frames(reply: Reply, model: str, completion_id: str, created: int, include_usage: bool) -> Rendered:
    """The Chat Completions SSE stream for ``reply`` (reference §11.2), ending with ``data: [DONE]``."""
    frames: list[Frame] = []
    null_usage = {"usage": None} if include_usage else {}

    def payload(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                **null_usage}

    def chunk(delta: dict[str, Any], finish: str | None = None, is_delta: bool = False) -> None:
        frames.append(Frame(sse(None, payload(delta, finish)), is_delta))

    fault = reply.fault_kind
    if fault in ("failed", "error_event"):
        error = {"message": reply.error_message or "The model failed.", "type": "server_error",
                 "param": None, "code": "server_error"}
        frames.append(Frame(sse(None, {"error": error})))
        return Rendered(frames, mid=len(frames))
    deltas = 0
    if fault == "incomplete":
        chunk({"role": "assistant", "content": ""})
        chunk({}, "length")
    else:
        if reply.output_text is not None or reply.refusal_text is not None or not reply.calls:
            first: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None}
            if reply.refusal_text is not None and reply.output_text is None:
                first = {"role": "assistant", "content": None, "refusal": ""}
            chunk(first)
        for key, text in (("content", reply.output_text), ("refusal", reply.refusal_text)):
            before, after = _encode(payload({key: "\x00"})).split('"\\u0000"')
            for piece in split_text(text or "", reply.chunks):
                frames.append(Frame(f"data: {before}{_string(piece)}{after}\n\n".encode(), True))
                deltas += 1
        for index, call in enumerate(reply.calls):
            head: dict[str, Any] = {"index": index, "id": call.call_id, "type": "function",
                                    "function": {"name": call.name, "arguments": ""}}
            opening: dict[str, Any] = {"tool_calls": [head]}
            if index == 0 and reply.output_text is None and reply.refusal_text is None:
                opening = {"role": "assistant", "content": None, **opening}
            chunk(opening)
            for piece in split_arguments(call.arguments):
                chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}, is_delta=True)
                deltas += 1
        if fault != "no_terminal":
            chunk({}, reply.finish_reason or ("tool_calls" if reply.calls else "stop"))
    mid = len(frames) // 2
    if fault == "no_terminal":
        return Rendered(frames, mid=mid)
    numbers = usage_numbers(reply, deltas)
    if include_usage and numbers is not None:
        usage = {"prompt_tokens": numbers[0], "completion_tokens": numbers[1],
                 "total_tokens": numbers[0] + numbers[1],
                 "prompt_tokens_details": {"cached_tokens": numbers[2]},
                 "completion_tokens_details": {"reasoning_tokens": numbers[3]}}
        frames.append(Frame(sse(None, {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                                       "model": model, "choices": [], "usage": usage})))
    frames.append(Frame(b"data: [DONE]\n\n"))
    return Rendered(frames, mid=mid)
