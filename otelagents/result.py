"""Run results: ``RunResult`` (after ``run``) and ``RunResultStreaming`` (live, from ``run_streamed``)."""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from .exceptions import AgentsException, UserError
from .items import ItemHelpers, ModelResponse, RunItem, TResponseInputItem
from .run_context import RunContextWrapper
from .stream_events import StreamEvent

if TYPE_CHECKING:
    from .agent import Agent
    from .tool_guardrails import ToolInputGuardrailResult, ToolOutputGuardrailResult

T = TypeVar("T")


@dataclass
class RunResultBase:
    input: str | list[TResponseInputItem]
    new_items: list[RunItem]
    raw_responses: list[ModelResponse]
    final_output: Any
    input_guardrail_results: list[Any]
    output_guardrail_results: list[Any]
    context_wrapper: RunContextWrapper[Any]
    _last_agent: Agent[Any]
    tool_input_guardrail_results: list[ToolInputGuardrailResult] = field(default_factory=list)
    tool_output_guardrail_results: list[ToolOutputGuardrailResult] = field(default_factory=list)

    @property
    def last_agent(self) -> Agent[Any]:
        agent = self._last_agent
        if agent is None:  # released: readable while the agent lives elsewhere
            ref = self.__dict__.get("_last_agent_ref")
            agent = ref() if ref is not None else None
            if agent is None:
                raise AgentsException("Last agent reference is no longer available.")
        return agent

    def release_agents(self, *, release_new_items: bool = True) -> None:
        """Drop this result's strong references to agents (as in the SDK): ``item.agent`` and
        ``last_agent`` stay readable while something else keeps the agent alive."""
        if release_new_items:
            for item in self.new_items:
                item.release_agent()
        agent = self.__dict__.get("_last_agent")
        if agent is not None:
            self.__dict__["_last_agent_ref"] = weakref.ref(agent)
            self.__dict__["_last_agent"] = None

    def to_state(self) -> Any:
        """Not supported: otelagents has no RunState (human-in-the-loop approvals, resumable runs)."""
        raise UserError(
            "RunResult.to_state() (RunState) is not supported by otelagents' runner. Run the Agents SDK itself "
            "with the telemetry plugin: `from otelagents.instrumentation import OpenAIAgentsInstrumentor; "
            "OpenAIAgentsInstrumentor().instrument()`."
        )

    @property
    def last_response_id(self) -> str | None:
        return self.raw_responses[-1].response_id if self.raw_responses else None

    def final_output_as(self, cls: type[T], raise_if_incorrect_type: bool = False) -> T:
        if raise_if_incorrect_type and not isinstance(self.final_output, cls):
            raise TypeError(f"Final output is {type(self.final_output).__name__}, not {cls.__name__}")
        return cast(T, self.final_output)

    def to_input_list(self) -> list[TResponseInputItem]:
        """The original input followed by every generated item, ready for a follow-up run."""
        items = ItemHelpers.input_to_new_input_list(self.input)
        items.extend(item.to_input_item() for item in self.new_items)
        return items


@dataclass
class RunResult(RunResultBase):
    max_turns: int | None = None

    def __str__(self) -> str:
        return f"RunResult(last_agent={self.last_agent.name!r}, final_output={self.final_output!r})"


class _Sentinel:
    def __repr__(self) -> str:
        return "<end of stream>"


_END = _Sentinel()
_AWAITED_CHECK_S = 0.05
_AWAITED_CHECK_MAX_S = 0.5


@dataclass
class RunResultStreaming(RunResultBase):
    """A run in progress. Iterate ``stream_events()``; read ``final_output`` once iteration ends.

    Back-pressure, as the Agents SDK: before each next turn the run waits until every active iterator
    has come back for the next event (has handled the turn's events). Unlike the SDK, it never waits
    while the run itself is awaited (``await result.run_loop_task``, ``asyncio.wait``/``gather`` on it):
    a consumer that reads one event, keeps the iterator and awaits the run gets a finished run, and the
    rest of the events from the iterator. A failed run's error is raised by every iteration of
    ``stream_events()`` and to every consumer, after the events before it.

    Unlike the Agents SDK, leaving the iteration early (``break``, an exception in the loop body,
    ``aclose()``, or dropping the iterator) cancels the run as ``cancel("immediate")`` does, so no
    model call or tool keeps running unseen.
    """

    current_agent: Agent[Any] = field(default=None)  # type: ignore[arg-type]
    current_turn: int = 0
    max_turns: int | None = 10
    is_complete: bool = False
    trace: Any = None
    run_loop_task: asyncio.Task[Any] | None = field(default=None, repr=False)
    _events: deque[Any] = field(default_factory=deque, repr=False)
    _wakeup: asyncio.Event | None = field(default=None, repr=False)
    _drained: asyncio.Event | None = field(default=None, repr=False)
    _consumers: int = 0
    _unacknowledged: int = 0  # events handed to a consumer whose loop body has not come back yet
    _stored_exception: BaseException | None = field(default=None, repr=False)
    _cancel_mode: Literal["none", "immediate", "after_turn"] = "none"
    _ended: bool = False

    def __post_init__(self) -> None:
        if self.current_agent is None:
            self.current_agent = self._last_agent

    @property
    def last_agent(self) -> Agent[Any]:
        return self.current_agent

    @property
    def run_loop_exception(self) -> BaseException | None:
        return self._stored_exception

    # --- producer side (the run loop) --------------------------------------------------------------
    def _put(self, event: Any) -> None:
        if self._cancel_mode == "immediate":
            return
        self._events.append(event)
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.is_set():
            wakeup.set()

    def _finish(self) -> None:
        """Queue the end of the stream. Called on every exit path of the run loop."""
        self.is_complete = True
        if not self._ended:
            self._ended = True
            self._events.append(_END)
        if self._wakeup is not None:
            self._wakeup.set()

    def _stop_after_turn(self) -> bool:
        return self._cancel_mode == "after_turn"

    async def _wait_for_consumers(self) -> None:
        """Back-pressure: before the next model call, let active consumers drain the queue and finish
        handling the last event (as the Agents SDK's ``queue.join()``), so a ``cancel("after_turn")``
        made while handling it still stops the run before the next turn."""
        check_s = _AWAITED_CHECK_S
        while self._consumers > 0 and (self._events or self._unacknowledged > 0):
            if self._run_is_awaited():
                # Someone waits for the run to finish (``await result.run_loop_task``, ``asyncio.wait``,
                # ``gather``), maybe the very consumer holding an event: holding the run back would
                # deadlock. It goes on; undelivered events stay queued for the iterator.
                return
            if self._drained is None:
                self._drained = asyncio.Event()
            self._drained.clear()
            try:  # woken by the consumer; re-checks now and then (less and less often) whether the run
                await asyncio.wait_for(self._drained.wait(), check_s)  # became awaited
            except asyncio.TimeoutError:
                check_s = min(check_s * 2, _AWAITED_CHECK_MAX_S)

    def _run_is_awaited(self) -> bool:
        """Whether anything other than the runner itself waits on the run task (a done callback)."""
        from .run import _retrieve

        callbacks = getattr(self.run_loop_task, "_callbacks", None) or ()
        return any(entry[0] is not _retrieve for entry in callbacks)

    # --- consumer side -----------------------------------------------------------------------------
    def stream_events(self) -> AsyncIterator[StreamEvent]:
        """The run's events, in order. Raises the run's error (after the events before it)."""
        return _EventIterator(self)

    def cancel(self, mode: Literal["immediate", "after_turn"] = "immediate") -> None:
        """Stop the run. ``"immediate"``: now, dropping undelivered events. ``"after_turn"``: after
        the current turn's tools and events, before the next model call."""
        if mode not in ("immediate", "after_turn"):
            raise UserError(f"cancel mode must be 'immediate' or 'after_turn', not {mode!r}")
        if mode == "after_turn":
            if self._cancel_mode == "none":
                self._cancel_mode = "after_turn"
            return
        if self._cancel_mode == "immediate":
            return
        self._cancel_mode = "immediate"
        self._events.clear()
        task = self.run_loop_task
        if task is not None and not task.done():
            task.cancel()
        self.is_complete = True
        if not self._ended:
            self._ended = True
            self._events.append(_END)
        if self._wakeup is not None:
            self._wakeup.set()

    def __str__(self) -> str:
        return (
            f"RunResultStreaming(current_agent={self.current_agent.name!r}, current_turn={self.current_turn}, "
            f"is_complete={self.is_complete}, final_output={self.final_output!r})"
        )


class _EventIterator:
    """The iterator behind ``stream_events()``. Dropping it early cancels the run."""

    __slots__ = ("_done", "_holding", "_registered", "_result")

    def __init__(self, result: RunResultStreaming) -> None:
        self._result = result
        self._done = False
        self._registered = False
        self._holding = False  # the consumer is handling the last event we returned

    def __aiter__(self) -> _EventIterator:
        return self

    async def __anext__(self) -> StreamEvent:
        if self._done:
            raise StopAsyncIteration
        result = self._result
        self._acknowledge()
        if not self._registered:
            self._registered = True
            result._consumers += 1
        events = result._events
        while not events:
            if result._ended:
                # The end was already delivered (to an earlier iterator): nothing more will come, but a
                # failed run's error reaches every iteration and every consumer.
                await self._end()
                raise StopAsyncIteration
            if result._wakeup is None:
                result._wakeup = asyncio.Event()
            result._wakeup.clear()
            try:
                await result._wakeup.wait()
            except asyncio.CancelledError:
                # The consumer's wait was cancelled (wait_for timeout, task cancel): stop the run too.
                self._close(cancel=True)
                raise
        event = events.popleft()
        if event is not _END:
            self._holding = True
            result._unacknowledged += 1
        if event is _END:
            await self._end()
            raise StopAsyncIteration
        return cast(StreamEvent, event)

    async def _end(self) -> None:
        result = self._result
        self._close(cancel=False)
        task = result.run_loop_task
        if task is not None and not task.done():
            # Let the run task finish its cleanup (spans close before the sentinel, but the task
            # itself returns just after): when iteration ends, the run is really over.
            await asyncio.wait([task])
        if result._stored_exception is not None and result._cancel_mode != "immediate":
            raise result._stored_exception

    def _acknowledge(self) -> None:
        """The consumer came back for more: it has finished with the previous event."""
        if not self._holding:
            return
        self._holding = False
        result = self._result
        result._unacknowledged -= 1
        if not result._events and result._drained is not None:
            result._drained.set()

    def _close(self, *, cancel: bool) -> None:
        if self._done:
            return
        self._acknowledge()
        self._done = True
        result = self._result
        if self._registered:
            result._consumers -= 1
            if result._drained is not None:
                result._drained.set()
        if cancel and not result._ended:
            result.cancel("immediate")

    async def aclose(self) -> None:
        self._close(cancel=True)

    def __del__(self) -> None:
        try:
            self._close(cancel=True)
        except Exception:  # pragma: no cover - never raise from a finalizer
            pass
