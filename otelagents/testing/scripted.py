"""``ScriptedModel``: a model that plays back scripted turns, offline, with realistic timing.

The workhorse of the tests and the offline demo. Each model call takes the next turn of the script;
a turn is text (streamed in word-sized deltas), tool calls, handoffs, a refusal, or a failure.
``model_settings.max_tokens`` is honoured as a hosted model does: the answer stops at that many output
tokens and completes with ``incomplete_details.reason == "max_output_tokens"``.

    model = ScriptedModel([
        [tool_call("get_weather", {"city": "Paris"})],
        "It is sunny in Paris.",
    ], delta_delay=0.02, first_token_delay=0.2)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union

from openai.types.responses import ResponseStreamEvent

from ..exceptions import UserError
from ..models._events import ResponseStreamBuilder, make_usage
from ..models.interface import Model, ModelInfo, ModelTracing

_TOKEN = re.compile(r"\s*\S+|\s+$")
_ids = itertools.count(1)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):08x}"


def split_tokens(text: str) -> list[str]:
    """Word-sized deltas (each with its leading space) whose concatenation is ``text``."""
    parts = _TOKEN.findall(text)
    return parts if "".join(parts) == text else [text]


@dataclass(frozen=True)
class Text:
    content: str
    refusal: bool = False


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str
    call_id: str | None = None


@dataclass(frozen=True)
class Failure:
    kind: Literal["failed", "incomplete", "error", "truncated", "raise"]
    message: str = "scripted failure"
    exception: BaseException | None = None


Output = Union[Text, ToolCall, Failure]


def text(content: str) -> Text:
    """A message streamed word by word."""
    return Text(content)


def refusal(content: str) -> Text:
    return Text(content, refusal=True)


def tool_call(name: str, arguments: dict[str, Any] | str | None = None, call_id: str | None = None) -> ToolCall:
    """A function call; ``arguments`` as a dict or a raw JSON string (raw strings may be malformed)."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return ToolCall(name, args, call_id)


def handoff(target: Any) -> ToolCall:
    """A call to the handoff tool of ``target`` (an Agent, or an agent name)."""
    name = target if isinstance(target, str) else target.name
    return ToolCall("transfer_to_" + re.sub(r"[^A-Za-z0-9_]", "_", name).lower(), "{}")


def failure(
    kind: Literal["failed", "incomplete", "error", "truncated"] = "failed", message: str = "scripted failure"
) -> Failure:
    """A failed response: ``response.failed``/``response.incomplete``/``error``, or a stream cut short."""
    return Failure(kind, message)


def raise_error(exc: BaseException) -> Failure:
    """The model call raises ``exc`` after ``response.created`` (a transport error, say)."""
    return Failure("raise", str(exc), exc)


@dataclass
class Turn:
    outputs: list[Output]
    delta_delay: float | None = None
    first_token_delay: float | None = None
    usage: tuple[int, int] | None = None  # (input, output) tokens; default: counted


@dataclass
class ScriptRequest:
    """What the model was asked (recorded for assertions and for callable scripts)."""

    system_instructions: str | None
    input: list[Any]
    tools: list[str]
    handoffs: list[str]
    settings: Any
    output_schema: Any
    turn_index: int


ScriptEntry = Union[str, Output, Sequence[Output], Turn]
Script = Union[Sequence[ScriptEntry], Callable[[ScriptRequest], ScriptEntry]]


def _as_turn(entry: ScriptEntry) -> Turn:
    if isinstance(entry, Turn):
        return entry
    if isinstance(entry, str):
        return Turn([Text(entry)])
    if isinstance(entry, (Text, ToolCall, Failure)):
        return Turn([entry])
    if isinstance(entry, Sequence):
        outputs = [Text(o) if isinstance(o, str) else o for o in entry]
        for o in outputs:
            if not isinstance(o, (Text, ToolCall, Failure)):
                raise UserError(f"ScriptedModel: {o!r} is not a scripted output (use text(), tool_call(), ...)")
        return Turn(outputs)
    raise UserError(f"ScriptedModel: cannot use {entry!r} as a turn")


def _count_tokens(value: Any) -> int:
    return max(1, len(json.dumps(value, default=str)) // 4)


class ScriptedModel(Model):
    """Plays back a script. ``repeat=True`` cycles it (for load runs); otherwise running out raises."""

    def __init__(
        self,
        script: Script,
        *,
        model: str = "scripted-model",
        delta_delay: float = 0.0,
        first_token_delay: float = 0.0,
        repeat: bool = False,
    ) -> None:
        if delta_delay < 0 or first_token_delay < 0:
            raise UserError("ScriptedModel delays must be >= 0 seconds")
        self.model = model
        self.script = script
        self.delta_delay = delta_delay
        self.first_token_delay = first_token_delay
        self.repeat = repeat
        self.requests: list[ScriptRequest] = []
        self._next = 0

    def describe(self) -> ModelInfo:
        return ModelInfo(request_model=self.model, provider_name="scripted")

    def _take(self, request: ScriptRequest) -> Turn:
        if callable(self.script):
            return _as_turn(self.script(request))
        turns = list(self.script)
        if not turns:
            raise UserError("ScriptedModel has an empty script")
        index = self._next
        if index >= len(turns):
            if not self.repeat:
                raise UserError(
                    f"ScriptedModel ran out of turns after {len(turns)} call(s); add turns or pass repeat=True"
                )
            index %= len(turns)
        self._next += 1
        return _as_turn(turns[index])

    async def stream_response(
        self,
        system_instructions: str | None,
        input: Any,
        model_settings: Any,
        tools: list[Any],
        output_schema: Any,
        handoffs: list[Any],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: Any = None,
    ) -> AsyncIterator[ResponseStreamEvent]:
        items = [{"content": input, "role": "user"}] if isinstance(input, str) else list(input)
        request = ScriptRequest(
            system_instructions=system_instructions, input=items, tools=[t.name for t in tools],
            handoffs=[h.tool_name for h in handoffs], settings=model_settings, output_schema=output_schema,
            turn_index=len(self.requests),
        )
        self.requests.append(request)
        turn = self._take(request)
        delta_delay = self.delta_delay if turn.delta_delay is None else turn.delta_delay
        first_delay = self.first_token_delay if turn.first_token_delay is None else turn.first_token_delay
        builder = ResponseStreamBuilder(_new_id("resp"), self.model)
        for event in builder.created():
            yield event
        if first_delay:
            await asyncio.sleep(first_delay)
        output_tokens = 0
        first = True
        limit = _max_tokens(model_settings)
        cut_short: str | None = None
        for output in turn.outputs:
            if isinstance(output, ToolCall) and limit is not None and output_tokens + _cost(output) > limit:
                cut_short = "max_output_tokens"  # a tool call that does not fit is not started
                break
            if isinstance(output, Failure):
                if output.kind == "raise":
                    assert output.exception is not None
                    raise output.exception
                if output.kind == "truncated":
                    return
                if output.kind == "failed":
                    yield builder.failed("server_error", output.message)
                elif output.kind == "incomplete":
                    yield builder.incomplete("max_output_tokens")
                else:
                    yield builder.error("server_error", output.message)
                return
            if isinstance(output, Text):
                item_id = _new_id("msg")
                for event in builder.message_start(item_id, refusal=output.refusal):
                    yield event
                for token in split_tokens(output.content):
                    if limit is not None and output_tokens >= limit:
                        cut_short = "max_output_tokens"
                        break
                    if delta_delay and not first:
                        await asyncio.sleep(delta_delay)
                    first = False
                    output_tokens += 1
                    yield builder.text_delta(item_id, token)
                for event in builder.message_end(item_id):
                    yield event
                if cut_short:
                    break
            else:
                item_id = _new_id("fc")
                yield builder.function_call_start(item_id, output.call_id or _new_id("call"), output.name)
                if delta_delay and not first:
                    await asyncio.sleep(delta_delay)
                first = False
                output_tokens += _cost(output)
                yield builder.arguments_delta(item_id, output.arguments)
                for event in builder.function_call_end(item_id):
                    yield event
        if cut_short and output_tokens == 0:  # cut short before any output: the response is incomplete
            yield builder.incomplete(cut_short)
            return
        usage = turn.usage or (_count_tokens([system_instructions, items]), output_tokens)
        yield builder.completed(make_usage(usage[0], usage[1]), cut_short)


def _max_tokens(settings: Any) -> int | None:
    """``model_settings.max_tokens``: the scripted model stops there, as a hosted model does."""
    limit = getattr(settings, "max_tokens", None)
    return limit if isinstance(limit, int) and limit >= 0 else None


def _cost(output: Text | ToolCall | Failure) -> int:
    """The output tokens a tool call's arguments count for (text counts one per delta)."""
    return max(1, len(output.arguments) // 4) if isinstance(output, ToolCall) else 0
