"""One model call: the input filter, then the streamed call (or a custom model's own ``get_response``)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING, Any

from openai.types.responses import ResponseOutputItemDoneEvent

from ._hosted_tool_calls import HostedToolCalls
from ._observing import event_timer_of, observer_failed
from .exceptions import ModelBehaviorError, ModelTimeoutError, UserError
from .items import ModelResponse, RunItem
from .models.interface import Model, ModelTracing, bind_request_sent, describe_terminal_event
from .observer import OK, Outcome
from .run_config import CallModelData, ModelInputData
from .stream_events import RawResponsesStreamEvent
from .usage import Usage

if TYPE_CHECKING:
    from .agent import Agent
    from .agent_output import AgentOutputSchema
    from .handoffs import Handoff
    from .model_settings import ModelSettings
    from .run_config import RunConfig
    from .run_context import RunContextWrapper
    from .tool import Tool

_TERMINAL_FAILURES = frozenset(("response.failed", "response.incomplete", "error"))
# The events _read_stream acts on besides passing them on.
_DISPATCHED = _TERMINAL_FAILURES | {"response.completed", "response.output_item.done", "response.output_item.added"}
_NO_TYPES: frozenset[str] = frozenset()


@dataclass
class ModelRequest:
    """Everything one call passes to the model."""

    system_prompt: str | None
    input_items: list[Any]
    settings: ModelSettings
    tools: list[Tool]
    output_schema: AgentOutputSchema | None
    handoffs: list[Handoff]
    tracing: ModelTracing
    previous_response_id: str | None = None
    conversation_id: str | None = None
    prompt: Any = None

    def args(self) -> tuple[Any, ...]:
        return (self.system_prompt, self.input_items, self.settings, self.tools, self.output_schema,
                self.handoffs, self.tracing)

    def kwargs(self) -> dict[str, Any]:
        return {"previous_response_id": self.previous_response_id, "conversation_id": self.conversation_id,
                "prompt": self.prompt}


async def filter_model_input(
    run_config: RunConfig, agent: Agent[Any], context: RunContextWrapper[Any], input_items: list[Any],
    system_prompt: str | None,
) -> ModelInputData:
    """``RunConfig.call_model_input_filter`` applied (as in the SDK), or the input unchanged."""
    chosen = run_config.call_model_input_filter
    if chosen is None:
        return ModelInputData(input=input_items, instructions=system_prompt)
    data = CallModelData(model_data=ModelInputData(input=list(input_items), instructions=system_prompt),
                         agent=agent, context=context.context)
    updated = chosen(data)
    if inspect.isawaitable(updated):
        updated = await updated
    if not isinstance(updated, ModelInputData):
        raise UserError(
            f"call_model_input_filter must return a ModelInputData instance, not {type(updated).__name__}"
        )
    return updated


def input_item_of(item: RunItem, reasoning_item_id_policy: str | None) -> Any:
    """A run item as the next model call's input; ``"omit"`` drops reasoning items' ids (as in the SDK)."""
    value = item.to_input_item()
    if reasoning_item_id_policy == "omit" and item.type == "reasoning_item" and isinstance(value, dict):
        value = {k: v for k, v in value.items() if k != "id"}
    return value


def uses_own_get_response(model: Model) -> bool:
    """A model whose class implements ``get_response`` itself (not derived from its stream)."""
    return type(model).get_response is not Model.get_response


async def whole_response(model: Model, request: ModelRequest) -> ModelResponse:
    """A non-streaming call through the model's own ``get_response`` (``Runner.run``, as in the SDK)."""
    async with model_deadline(request.settings.timeout):
        response = await model.get_response(*request.args(), **request.kwargs())
    if not isinstance(response, ModelResponse):
        raise UserError(f"{type(model).__name__}.get_response must return a ModelResponse, "
                        f"not {type(response).__name__}")
    return response


@asynccontextmanager
async def model_deadline(timeout: float | None) -> AsyncIterator[None]:
    """``ModelSettings.timeout`` as the SDK applies it: one deadline for the whole model call (request and
    complete stream). When it passes, the call is cancelled (and cleans up), then ``ModelTimeoutError``."""
    task = asyncio.current_task()
    if timeout is None or task is None:
        yield
        return
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    handle = asyncio.get_running_loop().call_later(timeout, expire)
    try:
        yield
    except asyncio.CancelledError:
        if not expired:
            raise
        _uncancel(task)
        raise ModelTimeoutError(timeout) from None
    finally:
        handle.cancel()
    if expired:  # the call swallowed its cancellation after the deadline: it still ran out of time
        _uncancel(task)
        raise ModelTimeoutError(timeout)


def _uncancel(task: asyncio.Task[Any]) -> None:
    """Take back our own cancel request (Python 3.11+ counts them; ``asyncio.timeout`` reads the count)."""
    uncancel = getattr(task, "uncancel", None)
    if uncancel is not None:
        uncancel()


async def stream_model(
    model: Model, request: ModelRequest, call_obs: Any, emit: Callable[[Any], None],
    hosted: HostedToolCalls | None = None,
) -> ModelResponse:
    """Stream the call within its deadline, emitting raw events and feeding the observations; the final
    response. ``hosted`` sees the output items' added/done events (hosted tool calls)."""
    try:
        async with model_deadline(request.settings.timeout):
            final, terminal, done_items = await _read_stream(model, request, call_obs, emit, hosted)
    except BaseException as exc:
        if hosted is not None:
            hosted.end_all(Outcome(error=exc, cancelled=isinstance(exc, asyncio.CancelledError)))
        raise
    if terminal is not None:
        error = ModelBehaviorError(describe_terminal_event(terminal, _api_of(model)))
    elif final is None:
        error = ModelBehaviorError("Model did not produce a final response!")
    else:
        if hosted is not None:
            hosted.end_all(OK)
        usage = Usage.from_response_usage(final.usage)
        output = list(final.output) or done_items
        raw_usage = _raw_usage(final.usage) if request.settings.preserve_raw_usage is True else None
        return ModelResponse(output=output, usage=usage, response_id=final.id, raw=final, raw_usage=raw_usage)
    if hosted is not None:
        hosted.end_all(Outcome(error=error))
    raise error


async def _read_stream(
    model: Model, request: ModelRequest, call_obs: Any, emit: Callable[[Any], None],
    hosted: HostedToolCalls | None,
) -> tuple[Any, Any, list[Any]]:
    """(the completed response or None, the terminal failure event or None, the items done)."""
    observe = call_obs.event
    timer = event_timer_of(call_obs)
    timed, stamp = (timer.types, timer.times.append) if timer is not None else (_NO_TYPES, None)
    final = None
    terminal = None
    done_items: list[Any] = []
    unbind = bind_request_sent(_isolated(call_obs.request_sent))
    stream: AsyncIterator[Any] = model.stream_response(*request.args(), **request.kwargs())
    try:
        async for event in stream:
            kind = event.type
            if stamp is not None and kind in timed:  # the observation only wants the time: no call
                stamp(perf_counter())
            else:
                try:
                    observe(event)
                except Exception as exc:
                    observer_failed("ModelCallObservation.event", exc)
            emit(RawResponsesStreamEvent(data=event))
            if kind not in _DISPATCHED:  # the deltas, most of a stream: nothing more to do
                continue
            if kind == "response.completed":
                final = event.response
            elif kind in _TERMINAL_FAILURES:
                terminal = event
            elif kind == "response.output_item.done":
                assert isinstance(event, ResponseOutputItemDoneEvent)
                done_items.append(event.item)
                if hosted is not None:
                    hosted.seen(kind, event.item)
            elif kind == "response.output_item.added" and hosted is not None:
                hosted.seen(kind, event.item)
    finally:
        unbind()
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    return final, terminal, done_items


def _api_of(model: Model) -> str | None:
    """Which wire API the model speaks (for error messages); None when it does not say."""
    try:
        return model.describe().api
    except Exception:  # a user's model with a broken describe(): the message just names no API
        return None


def _raw_usage(usage: Any) -> dict[str, Any] | None:
    """The usage as the provider sent it (fields it left out stay out), as JSON values."""
    if usage is None:
        return None
    try:
        dumped = usage.model_dump(mode="json", by_alias=True, exclude_unset=True)
    except Exception:  # diagnostic metadata: never fail a call over it
        return None
    return dumped if isinstance(dumped, dict) else None


def _isolated(callback: Callable[[], None]) -> Callable[[], None]:
    def call() -> None:
        try:
            callback()
        except Exception as exc:
            observer_failed("ModelCallObservation.request_sent", exc)

    return call
