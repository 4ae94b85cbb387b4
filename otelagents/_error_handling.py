"""Applying ``error_handlers``: the handler's result becomes the final output (and, optionally, a message)."""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from openai.types.responses import ResponseOutputMessage, ResponseOutputText

from ._final_output import final_from_messages, output_schema_for
from .exceptions import AgentsException, ModelBehaviorError, ModelRefusalError, UserError
from .items import ItemHelpers, MessageOutputItem, ModelResponse, RunItem
from .run_context import RunContextWrapper
from .run_error_handlers import RunErrorData, RunErrorHandlerInput, RunErrorHandlerResult
from .stream_events import RunItemStreamEvent

if TYPE_CHECKING:
    from ._run_loop import RunLoop
    from .agent import Agent

ErrorKind = Literal["max_turns", "model_refusal", "invalid_final_output"]
KINDS: tuple[ErrorKind, ...] = ("max_turns", "model_refusal", "invalid_final_output")
_WRAPPER_KEY = "response"
FAKE_RESPONSES_ID = "__fake_id__"


def check_error_handlers(handlers: Any) -> Mapping[str, Any]:
    """``error_handlers`` as given, checked: a mapping of known kinds to callables."""
    if handlers is None:
        return {}
    if not isinstance(handlers, Mapping):
        raise UserError(f"error_handlers must be a dict keyed by {', '.join(KINDS)}, not {type(handlers).__name__}")
    for kind, handler in handlers.items():
        if kind not in KINDS:
            raise UserError(f"Unknown error handler kind {kind!r}; use one of: {', '.join(KINDS)}")
        if handler is not None and not callable(handler):
            raise UserError(f"error_handlers[{kind!r}] must be callable, not {type(handler).__name__}")
    return handlers


def run_error_data(
    input: Any, new_items: list[RunItem], raw_responses: list[ModelResponse], last_agent: Agent[Any]
) -> RunErrorData:
    output = [item.to_input_item() for item in new_items]
    return RunErrorData(
        input=input, new_items=list(new_items), history=ItemHelpers.input_to_new_input_list(input) + output,
        output=output, raw_responses=list(raw_responses), last_agent=last_agent,
    )


async def handle(
    handlers: Mapping[str, Any],
    kind: ErrorKind,
    error: AgentsException,
    context: RunContextWrapper[Any],
    data: RunErrorData,
) -> tuple[Any, MessageOutputItem | None] | None:
    """``(final_output, message item or None)`` from the handler for ``kind``, or None to raise ``error``."""
    handler = handlers.get(kind)
    if handler is None:
        return None
    answer = handler(RunErrorHandlerInput(error=error, context=context, run_data=data))  # type: ignore[arg-type]
    if inspect.isawaitable(answer):
        answer = await answer
    result = _coerce(answer)
    if result is None:
        return None
    agent = data.last_agent
    final = _validate(agent, result.final_output)
    item = _message_item(agent, _as_text(agent, final)) if result.include_in_history else None
    return final, item


def _coerce(answer: Any) -> RunErrorHandlerResult | None:
    if answer is None or isinstance(answer, RunErrorHandlerResult):
        return answer
    if isinstance(answer, dict) and "final_output" in answer:
        extra = set(answer) - {"final_output", "include_in_history"}
        if extra:
            raise UserError(f"Invalid run error handler result: unexpected keys {sorted(extra)}")
        return RunErrorHandlerResult(**answer)
    return RunErrorHandlerResult(final_output=answer)


def _payload(agent: Agent[Any], final_output: Any) -> tuple[Any, Any]:
    schema = output_schema_for(agent)
    if schema is None:
        return None, final_output
    wrapped = getattr(schema, "_wrapped", False)
    if wrapped and not (isinstance(final_output, dict) and _WRAPPER_KEY in final_output):
        return schema, {_WRAPPER_KEY: final_output}
    return schema, final_output


def _validate(agent: Agent[Any], final_output: Any) -> Any:
    schema, payload = _payload(agent, final_output)
    if schema is None:
        return final_output
    try:
        text = schema._adapter.dump_json(payload, warnings="none").decode()
        return schema.validate_json(text)
    except (TypeError, ValueError, ModelBehaviorError) as exc:
        raise UserError(
            "Invalid run error handler final_output for structured output: "
            f"it does not match {schema.name()} ({exc})"
        ) from exc


def _as_text(agent: Agent[Any], final_output: Any) -> str:
    schema, payload = _payload(agent, final_output)
    if schema is None:
        return str(final_output)
    try:
        return str(schema._adapter.dump_json(payload, warnings="none").decode())
    except (TypeError, ValueError):
        try:
            return json.dumps(payload, ensure_ascii=False)
        except (TypeError, ValueError):
            return str(final_output)


def _message_item(agent: Agent[Any], text: str) -> MessageOutputItem:
    message = ResponseOutputMessage(
        id=FAKE_RESPONSES_ID, type="message", role="assistant", status="completed",
        content=[ResponseOutputText(text=text, type="output_text", annotations=[], logprobs=[])],
    )
    return MessageOutputItem(agent=agent, raw_item=message)


async def final_or_handled(
    loop: RunLoop, agent: Agent[Any], messages: list[ResponseOutputMessage], turn_items: list[RunItem]
) -> Any:
    """The final output from the turn's last message; a refusal or an invalid output goes to its handler."""
    try:
        final = final_from_messages(agent, messages)
    except ModelRefusalError as exc:
        kind: ErrorKind = "model_refusal"
        error: AgentsException = exc
    except ModelBehaviorError as exc:
        kind, error = "invalid_final_output", exc
    else:
        loop.result.new_items.extend(turn_items)
        return final
    if await handled(loop, agent, kind, error, turn_items):
        return loop.result.final_output
    raise error


async def handled(
    loop: RunLoop, agent: Agent[Any], kind: ErrorKind, error: AgentsException, turn_items: list[RunItem] | None = None
) -> bool:
    """Give ``error`` to the run's error handler; when it answers, the run ends with its output.

    ``turn_items`` (the failed turn's items) join the result only when the handler answers."""
    result = loop.result
    data = run_error_data(result.input, result.new_items + (turn_items or []), result.raw_responses, agent)
    answer = await handle(loop.error_handlers, kind, error, result.context_wrapper, data)
    if answer is None:
        return False
    result.new_items.extend(turn_items or [])
    final, item = answer
    if item is not None:
        result.new_items.append(item)
        loop.generated.append(item)
        loop.emit(RunItemStreamEvent(name="message_output_created", item=item))
    if kind == "max_turns":
        await loop.finish(agent, final)
    else:
        result.final_output = final
    return True
