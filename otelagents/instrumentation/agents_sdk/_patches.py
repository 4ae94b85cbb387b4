"""Where the plugin hooks into the SDK, and how it lets go.

Each patch is optional: on an SDK version where a target is missing, the rest still works and one
warning names what is not observed. Wrappers go through ``wrapt`` (signatures and ``inspect`` keep
working) and are removed by ``unpatch_all``.

* ``AgentRunner.run`` / ``AgentRunner.run_streamed`` (``Runner.run``, ``run_sync`` and ``run_streamed``
  all go through them): one ``RunRecord`` per run, put in ``current_run`` for the run's tasks; the run
  ends when ``run`` returns or raises, or when the streamed run's task is done;
* ``RunResultStreaming.stream_events``: a consumer that stops iterating early is recorded
  (``otelagents.consumer.left``); the SDK keeps the run going, and so do our spans;
* ``run_loop.get_model``: each turn's model is wrapped in an ``ObservedModel``;
* the guardrail runners, the function-tool runner and the handoff runner: tell the processor the
  guardrail's kind, the tool call's id, arguments and description, and the handoff's call id and tool;
* ``ToolInputGuardrail.run`` / ``ToolOutputGuardrail.run``: tool guardrails (the SDK opens no span for
  them) become ``run_guardrail`` observations under the tool's span;
* ``SynchronousMultiTracingProcessor.set_processors``: an application's ``set_trace_processors([...])``
  replaces its processors, not ours.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from functools import partial
from typing import Any, cast

import wrapt

from otelagents._observed_guardrail import observed_check
from otelagents.observer import GuardrailInfo, Outcome, RunObserver

from ._model import ObservedModel, _outcome_of
from ._processor import guardrail_kind, handoff_context, tool_call_context
from ._runs import RunRecord, current_run

logger = logging.getLogger("otelagents.instrumentation.agents_sdk")

_observer: RunObserver | None = None
kept_processor: Any = None  # our TracingProcessor, kept in the SDK's list when the application replaces it
# A streamed run's record rides on its RunResultStreaming, so it lives exactly as long as the result (a run
# whose task never finishes, e.g. its loop was closed, leaves nothing behind in a module-level table).
_RECORD = "_otelagents_run_record"
_applied: list[tuple[Any, str, Any]] = []


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


def _new_record(args: tuple[Any, ...], kwargs: dict[str, Any], streamed: bool) -> RunRecord | None:
    observer = _observer
    config = kwargs.get("run_config")
    if observer is None or (config is not None and getattr(config, "tracing_disabled", False)):
        return None
    conversation_id = kwargs.get("conversation_id")
    session = kwargs.get("session")
    if not conversation_id and session is not None:
        conversation_id = getattr(session, "session_id", None)
    return RunRecord(observer, _arg(args, kwargs, 0, "starting_agent"), _arg(args, kwargs, 1, "input"), config,
                     streamed, kwargs.get("max_turns"), str(conversation_id) if conversation_id else None)


async def _run(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    record = _new_record(args, kwargs, streamed=False)
    if record is None:
        return await wrapped(*args, **kwargs)
    token = current_run.set(record)
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        record.end(_outcome_of(exc))
        raise
    finally:
        current_run.reset(token)
    record.end(Outcome(output=getattr(result, "final_output", None)))
    return result


def _run_streamed(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    record = _new_record(args, kwargs, streamed=True)
    if record is None:
        return wrapped(*args, **kwargs)
    token = current_run.set(record)  # copied into the run's task when the SDK creates it
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as exc:
        record.end(_outcome_of(exc))
        raise
    finally:
        current_run.reset(token)
    task = getattr(result, "run_loop_task", None)
    if task is None:
        record.end(Outcome())
        return result
    setattr(result, _RECORD, record)
    task.add_done_callback(partial(_streamed_run_done, record, result))
    return result


def _streamed_run_done(record: RunRecord, result: Any, task: asyncio.Task[Any]) -> None:
    error: BaseException | None = None
    if not task.cancelled():
        error = task.exception() or getattr(result, "_stored_exception", None)
    if task.cancelled() or getattr(result, "_cancel_mode", None) == "immediate":
        outcome = Outcome(error=error, cancelled=True)
    elif error is not None:
        outcome = _outcome_of(error)
    else:
        outcome = Outcome(output=getattr(result, "final_output", None))
    record.end(outcome)


def _stream_events(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> Any:
    stream = wrapped(*args, **kwargs)
    record: RunRecord | None = getattr(instance, _RECORD, None)
    if record is None or record.done:
        return stream
    return _WatchedEvents(stream, instance, record)


class _WatchedEvents:
    """The consumer's iterator over ``stream_events()``: each step is one delegated call (no generator of
    our own per event); dropped or closed before the run completed, it records that the consumer left."""

    __slots__ = ("_inner", "_record", "_result")

    def __init__(self, inner: Any, result: Any, record: RunRecord) -> None:
        self._inner, self._result, self._record = inner, result, record

    def __aiter__(self) -> _WatchedEvents:
        return self

    def __anext__(self) -> Any:
        return self._inner.__anext__()

    def asend(self, value: Any) -> Any:
        return self._inner.asend(value)

    def athrow(self, *args: Any) -> Any:
        return self._inner.athrow(*args)

    def aclose(self) -> Any:
        self._left()
        return self._inner.aclose()

    def _left(self) -> None:
        result = self._result
        if not result.is_complete and getattr(result, "_stored_exception", None) is None:
            self._record.mark_consumer_left()

    def __del__(self) -> None:  # a consumer that breaks out of ``async for`` drops the iterator
        try:
            self._left()
        except Exception:  # noqa: BLE001, S110 - never raise from a finalizer
            pass


def _cancel(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``cancel()`` (immediate): the spans the SDK ends from here on end as cancelled, on any Python."""
    record: RunRecord | None = getattr(instance, _RECORD, None)
    if record is not None and not record.done and _arg(args, kwargs, 0, "mode") in (None, "immediate"):
        record.cancelling = True
    return wrapped(*args, **kwargs)


def _get_model(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    model = wrapped(*args, **kwargs)
    record = current_run.get()
    if record is None or record.done or isinstance(model, ObservedModel):
        return model
    agent = _arg(args, kwargs, 0, "agent")
    record.learn_agent(agent)
    return ObservedModel(model, agent, record)


def _guardrail(kind: str) -> Callable[..., Any]:
    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> Any:
        token = guardrail_kind.set(kind)
        try:
            return await wrapped(*args, **kwargs)
        finally:
            guardrail_kind.reset(token)

    return wrapper


async def _run_single_tool(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                           kwargs: dict[str, Any]) -> Any:
    token = tool_call_context.set((kwargs.get("func_tool"), kwargs.get("tool_call")))
    try:
        return await wrapped(*args, **kwargs)
    finally:
        tool_call_context.reset(token)


async def _execute_handoffs(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                            kwargs: dict[str, Any]) -> Any:
    """The handoff the SDK is about to run (its tool call id and description for the handoff span)."""
    run_handoffs = kwargs.get("run_handoffs") or []
    first = run_handoffs[0] if run_handoffs else None
    token = handoff_context.set((getattr(first, "handoff", None), getattr(first, "tool_call", None)))
    try:
        return await wrapped(*args, **kwargs)
    finally:
        handoff_context.reset(token)


def _tool_guardrail(kind: str) -> Callable[..., Any]:
    """A tool guardrail's ``run``: the SDK opens no span for it, so its boundaries are observed here."""

    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> Any:
        record = current_run.get()
        agent = record.agent if record is not None and not record.done else None
        if record is None or agent is None:
            return await wrapped(*args, **kwargs)
        context = getattr(_arg(args, kwargs, 0, "data"), "context", None)
        tool_name = getattr(context, "tool_name", None)
        get_name = getattr(instance, "get_name", None)
        name = str(get_name()) if callable(get_name) else type(instance).__name__
        info = GuardrailInfo(cast(Any, record.agent_ref(record.agent_name or "")), name, kind,
                             tool_name if isinstance(tool_name, str) else None)
        return await observed_check(agent.guardrail_started, info, partial(wrapped, *args, **kwargs), _rejected)

    return wrapper


def _rejected(output: Any) -> bool:
    """reject_content (the tool call is refused) and raise_exception (the run stops) are both tripwires."""
    behavior = getattr(output, "behavior", None)
    return isinstance(behavior, dict) and behavior.get("type") in ("reject_content", "raise_exception")


def _set_processors(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> Any:
    """``set_trace_processors([...])`` (e.g. to stop exporting to OpenAI's backend) keeps our processor."""
    processors = list(_arg(args, kwargs, 0, "processors") or [])
    ours = kept_processor
    if ours is not None and getattr(ours, "enabled", False) and ours not in processors:
        processors.append(ours)
    return wrapped(processors)


PATCHES: tuple[tuple[str, str, Callable[..., Any]], ...] = (
    ("agents.run", "AgentRunner.run", _run),
    ("agents.run", "AgentRunner.run_streamed", _run_streamed),
    ("agents.result", "RunResultStreaming.stream_events", _stream_events),
    ("agents.result", "RunResultStreaming.cancel", _cancel),
    ("agents.run_internal.run_loop", "get_model", _get_model),
    ("agents.run_internal.guardrails", "run_single_input_guardrail", _guardrail("input")),
    ("agents.run_internal.guardrails", "run_single_output_guardrail", _guardrail("output")),
    ("agents.run_internal.tool_execution", "_FunctionToolBatchExecutor._run_single_tool", _run_single_tool),
    ("agents.run_internal.turn_resolution", "execute_handoffs", _execute_handoffs),
    ("agents.tool_guardrails", "ToolInputGuardrail.run", _tool_guardrail("tool_input")),
    ("agents.tool_guardrails", "ToolOutputGuardrail.run", _tool_guardrail("tool_output")),
    ("agents.tracing.provider", "SynchronousMultiTracingProcessor.set_processors", _set_processors),
)


def patch_all(observer: RunObserver) -> list[str]:
    """Apply every patch whose target exists (once: a second call re-applies); returns the missing targets."""
    global _observer
    unpatch_all()
    _observer = observer
    missing: list[str] = []
    for module_name, path, wrapper in PATCHES:
        try:
            module = importlib.import_module(module_name)
            parent: Any = module
            *owners, attribute = path.split(".")
            for owner in owners:
                parent = getattr(parent, owner)
            original = vars(parent)[attribute] if isinstance(parent, type) else getattr(parent, attribute)
            if not callable(getattr(parent, attribute, None)):
                raise AttributeError(path)
        except (ImportError, AttributeError, KeyError):
            missing.append(f"{module_name}.{path}")
            continue
        wrapt.wrap_function_wrapper(parent, attribute, wrapper)
        _applied.append((parent, attribute, original))
    return missing


def unpatch_all() -> None:
    """Put every patched attribute back as it was."""
    global _observer
    _observer = None
    while _applied:
        parent, attribute, original = _applied.pop()
        setattr(parent, attribute, original)
