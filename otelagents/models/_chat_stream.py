"""Chat Completions chunks -> the full Responses event sequence (reference §10.3, with the SDK's gaps fixed).

``ChatStreamConverter.feed(data)`` takes one SSE ``data:`` payload (a chunk) and returns the Responses events
it produces; ``finish()`` closes the open item and returns the terminal event. The sequence matches what the
Responses API sends for the same answer: ``created``, ``in_progress``, then per output item ``added`` …
deltas … ``done`` events, then ``completed`` (or ``incomplete`` for ``finish_reason="length"`` with no output).
An answer cut short after some output (``length``, ``content_filter``) completes with ``incomplete_details``
saying why; a ``content_filter`` stop with no output becomes a refusal, as in the Agents SDK.

Ids are real and distinct: the response id is the chunk ``id``; items get ``msg_…`` and ``fc_…`` ids (never
the ``call_id``). ``model`` and ``created_at`` come from the chunks. At most one output item is open at a
time, as in the Responses API: a new item (a tool call after text, the next tool call) closes the previous
one, so ``output_index`` follows ``response.output`` order.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from openai.types.responses import ResponseStreamEvent, ResponseUsage

from ..exceptions import ModelBehaviorError
from ._events import ResponseStreamBuilder, make_usage

# The refusal text the Agents SDK puts in place of a content-filtered answer with no output.
CONTENT_FILTER_REFUSAL = "Response withheld by the provider's content filter."
# Chat finish reasons that cut an answer short, as Responses incomplete_details reasons.
_CUT_SHORT = {"length": "max_output_tokens", "content_filter": "content_filter"}


@dataclass
class _Call:
    call_id: str = ""
    name: str = ""
    pending: str = ""  # arguments received before the call could start
    item_id: str = ""  # set once started
    closed: bool = False


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def usage_from_chat(usage: dict[str, Any]) -> ResponseUsage:
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return make_usage(
        int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0),
        cached_tokens=int(prompt_details.get("cached_tokens") or 0),
        reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
    )


class ChatStreamConverter:
    """Converts one Chat Completions stream. ``terminal`` is set once an error chunk ended it."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.builder: ResponseStreamBuilder | None = None
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.terminal = False
        self._open: tuple[str, str] | None = None  # (kind, item_id) of the open item: "text", "refusal", "call"
        self._calls: dict[int, _Call] = {}
        self._items = 0

    def _start(self, chunk: dict[str, Any]) -> list[ResponseStreamEvent]:
        created = chunk.get("created")
        self.builder = ResponseStreamBuilder(
            response_id=str(chunk.get("id") or _new_id("resp")), model=str(chunk.get("model") or self.model),
            created_at=float(created) if isinstance(created, (int, float)) else None,
        )
        return self.builder.created()

    def feed(self, data: bytes) -> list[ResponseStreamEvent]:
        try:
            chunk = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelBehaviorError(
                f"Could not decode a Chat Completions chunk {data[:120].decode('utf-8', 'replace')!r}: {exc}. "
                "The server sent data that is not JSON."
            ) from exc
        if not isinstance(chunk, dict):
            raise ModelBehaviorError(f"A Chat Completions chunk must be a JSON object, got {type(chunk).__name__}")
        events: list[ResponseStreamEvent] = [] if self.builder is not None else self._start(chunk)
        assert self.builder is not None
        error = chunk.get("error")
        if error is not None and not chunk.get("choices"):
            details = error if isinstance(error, dict) else {"message": str(error)}
            code = details.get("code")
            events.append(self.builder.error(None if code is None else str(code),
                                             str(details.get("message") or "The server reported an error"),
                                             details.get("param")))
            self.terminal = True
            return events
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        choices = chunk.get("choices") or []
        choice = next((c for c in choices if isinstance(c, dict) and c.get("index", 0) == 0), None)
        if choice is None:
            return events
        delta = choice.get("delta") or {}
        content = delta.get("content")
        if content:
            self._text(events, "text", content)
        refusal = delta.get("refusal")
        if refusal:
            self._text(events, "refusal", refusal)
        for position, fragment in enumerate(delta.get("tool_calls") or ()):
            self._tool_fragment(events, position, fragment)
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])
        return events

    def _close_open(self, events: list[ResponseStreamEvent]) -> None:
        if self._open is None:
            return
        assert self.builder is not None
        kind, item_id = self._open
        self._open = None
        if kind == "call":
            events.extend(self.builder.function_call_end(item_id))
            for call in self._calls.values():
                if call.item_id == item_id:
                    call.closed = True
        else:
            events.extend(self.builder.message_end(item_id))

    def _text(self, events: list[ResponseStreamEvent], kind: str, text: str) -> None:
        assert self.builder is not None
        if self._open is None or self._open[0] != kind:
            self._close_open(events)
            item_id = _new_id("msg")
            events.extend(self.builder.message_start(item_id, refusal=kind == "refusal"))
            self._open = (kind, item_id)
            self._items += 1
        events.append(self.builder.text_delta(self._open[1], text))

    def _tool_fragment(self, events: list[ResponseStreamEvent], position: int, fragment: Any) -> None:
        if not isinstance(fragment, dict):
            raise ModelBehaviorError(f"A Chat Completions tool_calls fragment must be an object, got {fragment!r}")
        index = fragment.get("index", position)
        call = self._calls.setdefault(index, _Call())
        if call.closed:
            raise ModelBehaviorError(
                f"Chat Completions tool call {index} got more arguments after the next output item started; "
                "interleaved tool-call streams are not supported"
            )
        function = fragment.get("function") or {}
        if fragment.get("id") and not call.call_id:
            call.call_id = str(fragment["id"])
        if function.get("name") and not call.item_id:
            call.name += str(function["name"])
        arguments = function.get("arguments") or ""
        if call.item_id:
            if arguments:
                assert self.builder is not None
                events.append(self.builder.arguments_delta(call.item_id, arguments))
            return
        call.pending += arguments
        if call.name and (call.call_id or arguments):
            self._start_call(events, call)

    def _start_call(self, events: list[ResponseStreamEvent], call: _Call) -> None:
        assert self.builder is not None
        self._close_open(events)
        call.call_id = call.call_id or _new_id("call")
        call.item_id = _new_id("fc")
        events.append(self.builder.function_call_start(call.item_id, call.call_id, call.name))
        self._open = ("call", call.item_id)
        self._items += 1
        if call.pending:
            events.append(self.builder.arguments_delta(call.item_id, call.pending))
            call.pending = ""

    def finish(self) -> list[ResponseStreamEvent]:
        """Close the open item and end the response (``completed``, or ``incomplete`` when cut short)."""
        if self.builder is None:
            raise ModelBehaviorError("The Chat Completions stream ended before its first chunk")
        events: list[ResponseStreamEvent] = []
        for index in sorted(self._calls):
            call = self._calls[index]
            if not call.item_id:
                if not call.name:
                    raise ModelBehaviorError(f"Chat Completions tool call {index} never received a function name")
                self._start_call(events, call)
        if self._items == 0 and self.finish_reason == "content_filter":
            # As the Agents SDK does: a content-filter stop with no output becomes a refusal, so the run
            # raises ModelRefusalError instead of ending on an empty turn.
            self._text(events, "refusal", CONTENT_FILTER_REFUSAL)
        self._close_open(events)
        cut_short = _CUT_SHORT.get(self.finish_reason or "")
        if self._items == 0 and cut_short:
            events.append(self.builder.incomplete(cut_short))
        else:
            usage = usage_from_chat(self.usage) if self.usage is not None else None
            events.append(self.builder.completed(usage, cut_short))
        return events
