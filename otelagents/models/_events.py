"""Build genuine ``openai`` Responses stream events, cheaply.

Used by the scripted model and by the Chat Completions adapter, which both synthesize the full
Responses event sequence (created, in_progress, output items, content parts, deltas, done events,
completed) with consistent ids, output indexes and strictly increasing sequence numbers.

The per-delta events are built with ``construct_exact`` (no validation: their fields are plain
strings and ints we produce ourselves); the rarer structural events are validated normally.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseErrorEvent,
    ResponseFailedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseFunctionToolCall,
    ResponseIncompleteEvent,
    ResponseInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputRefusal,
    ResponseOutputText,
    ResponseRefusalDeltaEvent,
    ResponseRefusalDoneEvent,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
)
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

_set = object.__setattr__


def construct_exact(cls: Any, values: dict[str, Any]) -> Any:
    """An instance of ``cls`` holding exactly ``values``, without validation.

    For events we build ourselves from plain strings and ints. ``model_construct`` on ``openai`` models is
    the client's recursive lenient construction (about 100 µs); this is about 2 µs, and the result is the
    same object (it validates strictly and round-trips through ``model_dump``).
    """
    instance = cls.__new__(cls)
    _set(instance, "__dict__", values)
    _set(instance, "__pydantic_fields_set__", set(values))
    _set(instance, "__pydantic_extra__", {})
    _set(instance, "__pydantic_private__", None)
    return instance


def make_usage(
    input_tokens: int, output_tokens: int, cached_tokens: int = 0, reasoning_tokens: int = 0
) -> ResponseUsage:
    return ResponseUsage(
        input_tokens=input_tokens,
        input_tokens_details=InputTokensDetails(cached_tokens=cached_tokens, cache_write_tokens=0),
        output_tokens=output_tokens,
        output_tokens_details=OutputTokensDetails(reasoning_tokens=reasoning_tokens),
        total_tokens=input_tokens + output_tokens,
    )


@dataclass
class _OpenItem:
    kind: str  # "message" or "function_call"
    item_id: str
    output_index: int
    parts: list[str] = field(default_factory=list)
    call_id: str = ""
    name: str = ""
    refusal: bool = False


class ResponseStreamBuilder:
    """Produces one response's events in order. Not thread-safe; one builder per model call."""

    def __init__(self, response_id: str, model: str, created_at: float | None = None) -> None:
        self.response_id = response_id
        self.model = model
        self.created_at = created_at if created_at is not None else time.time()
        self._seq = 0
        self._items: list[_OpenItem] = []
        self._output: list[Any] = []

    def _next(self) -> int:
        seq = self._seq
        self._seq += 1
        return seq

    def _response(self, status: str, **extra: Any) -> Response:
        return Response(
            id=self.response_id,
            object="response",
            created_at=self.created_at,
            model=self.model,
            status=status,  # type: ignore[arg-type]
            output=list(self._output) if status != "in_progress" else [],
            parallel_tool_calls=True,
            tool_choice="auto",
            tools=[],
            **extra,
        )

    @property
    def output(self) -> list[Any]:
        return list(self._output)

    # --- lifecycle -------------------------------------------------------------------------------
    def created(self) -> list[ResponseStreamEvent]:
        return [
            ResponseCreatedEvent(type="response.created", sequence_number=self._next(),
                                 response=self._response("in_progress")),
            ResponseInProgressEvent(type="response.in_progress", sequence_number=self._next(),
                                    response=self._response("in_progress")),
        ]

    def completed(self, usage: ResponseUsage | None, cut_short: str | None = None) -> ResponseCompletedEvent:
        """The end of a usable answer; ``cut_short`` (``max_output_tokens`` or ``content_filter``) says the
        server stopped it early after some output (Chat's ``finish_reason``), in ``incomplete_details``."""
        extra: dict[str, Any] = {"incomplete_details": {"reason": cut_short}} if cut_short else {}
        return ResponseCompletedEvent(
            type="response.completed", sequence_number=self._next(),
            response=self._response("completed", usage=usage, **extra),
        )

    def failed(self, code: str, message: str) -> ResponseFailedEvent:
        return ResponseFailedEvent(
            type="response.failed", sequence_number=self._next(),
            response=self._response("failed", error={"code": code, "message": message}),
        )

    def incomplete(self, reason: str = "max_output_tokens") -> ResponseIncompleteEvent:
        return ResponseIncompleteEvent(
            type="response.incomplete", sequence_number=self._next(),
            response=self._response("incomplete", incomplete_details={"reason": reason}),
        )

    def error(self, code: str | None, message: str, param: str | None = None) -> ResponseErrorEvent:
        return ResponseErrorEvent(type="error", sequence_number=self._next(), code=code, message=message,
                                  param=param)

    # --- messages --------------------------------------------------------------------------------
    def message_start(self, item_id: str, *, refusal: bool = False) -> list[ResponseStreamEvent]:
        item = _OpenItem("message", item_id, len(self._output) + len(self._items), refusal=refusal)
        self._items.append(item)
        empty_part: Any = (
            ResponseOutputRefusal(type="refusal", refusal="")
            if refusal
            else ResponseOutputText(type="output_text", text="", annotations=[])
        )
        return [
            ResponseOutputItemAddedEvent(
                type="response.output_item.added", sequence_number=self._next(), output_index=item.output_index,
                item=ResponseOutputMessage(id=item_id, type="message", role="assistant", status="in_progress",
                                           content=[]),
            ),
            ResponseContentPartAddedEvent(
                type="response.content_part.added", sequence_number=self._next(), item_id=item_id,
                output_index=item.output_index, content_index=0, part=empty_part,
            ),
        ]

    def text_delta(self, item_id: str, delta: str) -> ResponseStreamEvent:
        item = self._find(item_id)
        item.parts.append(delta)
        if item.refusal:
                return construct_exact(ResponseRefusalDeltaEvent, {  # type: ignore[no-any-return]
                "content_index": 0, "delta": delta, "item_id": item_id, "output_index": item.output_index,
                "sequence_number": self._next(), "type": "response.refusal.delta",
            })
        return construct_exact(ResponseTextDeltaEvent, {  # type: ignore[no-any-return]
            "content_index": 0, "delta": delta, "item_id": item_id, "logprobs": [],
            "output_index": item.output_index, "sequence_number": self._next(),
            "type": "response.output_text.delta",
        })

    def message_end(self, item_id: str) -> list[ResponseStreamEvent]:
        item = self._find(item_id)
        self._items.remove(item)
        text = "".join(item.parts)
        part: Any
        if item.refusal:
            part = ResponseOutputRefusal(type="refusal", refusal=text)
            done: ResponseStreamEvent = ResponseRefusalDoneEvent(
                type="response.refusal.done", sequence_number=self._next(), item_id=item_id,
                output_index=item.output_index, content_index=0, refusal=text,
            )
        else:
            part = ResponseOutputText(type="output_text", text=text, annotations=[])
            done = ResponseTextDoneEvent(
                type="response.output_text.done", sequence_number=self._next(), item_id=item_id,
                output_index=item.output_index, content_index=0, text=text, logprobs=[],
            )
        message = ResponseOutputMessage(id=item_id, type="message", role="assistant", status="completed",
                                        content=[part])
        self._output.append(message)
        return [
            done,
            ResponseContentPartDoneEvent(
                type="response.content_part.done", sequence_number=self._next(), item_id=item_id,
                output_index=item.output_index, content_index=0, part=part,
            ),
            ResponseOutputItemDoneEvent(
                type="response.output_item.done", sequence_number=self._next(),
                output_index=item.output_index, item=message,
            ),
        ]

    # --- function calls --------------------------------------------------------------------------
    def function_call_start(self, item_id: str, call_id: str, name: str) -> ResponseStreamEvent:
        item = _OpenItem("function_call", item_id, len(self._output) + len(self._items), call_id=call_id,
                         name=name)
        self._items.append(item)
        return ResponseOutputItemAddedEvent(
            type="response.output_item.added", sequence_number=self._next(), output_index=item.output_index,
            item=ResponseFunctionToolCall(type="function_call", id=item_id, call_id=call_id, name=name,
                                          arguments="", status="in_progress"),
        )

    def arguments_delta(self, item_id: str, delta: str) -> ResponseStreamEvent:
        item = self._find(item_id)
        item.parts.append(delta)
        return construct_exact(ResponseFunctionCallArgumentsDeltaEvent, {  # type: ignore[no-any-return]
            "delta": delta, "item_id": item_id, "output_index": item.output_index,
            "sequence_number": self._next(), "type": "response.function_call_arguments.delta",
        })

    def function_call_end(self, item_id: str) -> list[ResponseStreamEvent]:
        item = self._find(item_id)
        self._items.remove(item)
        arguments = "".join(item.parts)
        call = ResponseFunctionToolCall(type="function_call", id=item_id, call_id=item.call_id, name=item.name,
                                        arguments=arguments, status="completed")
        self._output.append(call)
        return [
            ResponseFunctionCallArgumentsDoneEvent(
                type="response.function_call_arguments.done", sequence_number=self._next(), item_id=item_id,
                output_index=item.output_index, arguments=arguments,
            ),
            ResponseOutputItemDoneEvent(
                type="response.output_item.done", sequence_number=self._next(),
                output_index=item.output_index, item=call,
            ),
        ]

    def open_item_ids(self) -> list[str]:
        return [item.item_id for item in self._items]

    def _find(self, item_id: str) -> _OpenItem:
        for item in self._items:
            if item.item_id == item_id:
                return item
        raise KeyError(f"no open output item with id {item_id!r}")
