"""Observer plumbing: the global observer list, fan-out to several observers, and isolation.

An observer that raises must not break the run: the error is logged and the run goes on with less
telemetry. Under pytest (``PYTEST_CURRENT_TEST`` set) the error is re-raised instead, so bugs in
telemetry fail tests rather than hide; ``OTELAGENTS_STRICT_OBSERVERS=0`` or ``=1`` forces either way.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from typing import Any, TypeVar

from .observer import (
    NOOP_AGENT,
    NOOP_HANDOFF,
    NOOP_MODEL_CALL,
    NOOP_RUN,
    NOOP_TOOL,
    AgentObservation,
    HandoffInfo,
    HandoffObservation,
    ModelCallInfo,
    ModelCallObservation,
    Outcome,
    RunInfo,
    RunObservation,
    RunObserver,
    ToolCallInfo,
    ToolObservation,
)

logger = logging.getLogger("otelagents.observer")

_global_observers: list[RunObserver] = []

T = TypeVar("T")


def add_run_observer(observer: RunObserver) -> None:
    """Observe every run from now on (in addition to ``RunConfig.observers``)."""
    if not isinstance(observer, RunObserver):
        raise TypeError(f"expected a RunObserver, got {type(observer).__name__}")
    if observer not in _global_observers:
        _global_observers.append(observer)


def remove_run_observer(observer: RunObserver) -> None:
    if observer in _global_observers:
        _global_observers.remove(observer)


def get_run_observers() -> list[RunObserver]:
    return list(_global_observers)


def strict_observers() -> bool:
    forced = os.environ.get("OTELAGENTS_STRICT_OBSERVERS")
    if forced is not None and forced.strip() != "":
        return forced.strip() not in ("0", "false", "no")
    return "PYTEST_CURRENT_TEST" in os.environ


def observer_failed(where: str, exc: BaseException) -> None:
    """Log an observer's exception; re-raise it under tests."""
    if strict_observers():
        raise exc
    logger.warning("run observer failed in %s; the run goes on: %r", where, exc, exc_info=exc)


def safe_call(where: str, fn: Callable[..., T], default: T, *args: Any) -> T:
    try:
        return fn(*args)
    except Exception as exc:
        observer_failed(where, exc)
        return default


class _FanModelCall(ModelCallObservation):
    __slots__ = ("_parts",)

    def __init__(self, parts: Sequence[ModelCallObservation]) -> None:
        self._parts = tuple(parts)

    def request_headers(self) -> Mapping[str, str]:
        headers: dict[str, str] = {}
        for part in self._parts:
            headers.update(part.request_headers())
        return headers

    def event(self, event: Any) -> None:
        for part in self._parts:
            part.event(event)

    def ended(self, response: Any, outcome: Outcome) -> None:
        for part in self._parts:
            safe_call("ModelCallObservation.ended", part.ended, None, response, outcome)


class _FanTool(ToolObservation):
    def __init__(self, parts: Sequence[ToolObservation]) -> None:
        self._parts = tuple(parts)

    def activate(self) -> AbstractContextManager[Any]:
        stack = ExitStack()
        for part in self._parts:
            stack.enter_context(part.activate())
        return stack

    def ended(self, outcome: Outcome) -> None:
        for part in self._parts:
            safe_call("ToolObservation.ended", part.ended, None, outcome)


class _FanHandoff(HandoffObservation):
    def __init__(self, parts: Sequence[HandoffObservation]) -> None:
        self._parts = tuple(parts)

    def ended(self, outcome: Outcome) -> None:
        for part in self._parts:
            safe_call("HandoffObservation.ended", part.ended, None, outcome)


def _fan(parts: list[T], noop: T, cls: Callable[[list[T]], T]) -> T:
    real = [p for p in parts if p is not noop]
    if not real:
        return noop
    if len(real) == 1:
        return real[0]
    return cls(real)


class _FanAgent(AgentObservation):
    def __init__(self, parts: Sequence[AgentObservation]) -> None:
        self._parts = tuple(parts)

    def model_call_started(self, call: ModelCallInfo) -> ModelCallObservation:
        started = [safe_call("model_call_started", p.model_call_started, NOOP_MODEL_CALL, call) for p in self._parts]
        return _fan(started, NOOP_MODEL_CALL, _FanModelCall)

    def tool_started(self, call: ToolCallInfo) -> ToolObservation:
        started = [safe_call("tool_started", p.tool_started, NOOP_TOOL, call) for p in self._parts]
        return _fan(started, NOOP_TOOL, _FanTool)

    def handoff_started(self, handoff: HandoffInfo) -> HandoffObservation:
        started = [safe_call("handoff_started", p.handoff_started, NOOP_HANDOFF, handoff) for p in self._parts]
        return _fan(started, NOOP_HANDOFF, _FanHandoff)

    def ended(self, outcome: Outcome) -> None:
        for part in self._parts:
            safe_call("AgentObservation.ended", part.ended, None, outcome)


class _FanRun(RunObservation):
    def __init__(self, parts: Sequence[RunObservation]) -> None:
        self._parts = tuple(parts)

    def agent_started(self, agent: Any, turn: int) -> AgentObservation:
        started = [safe_call("agent_started", p.agent_started, NOOP_AGENT, agent, turn) for p in self._parts]
        return _fan(started, NOOP_AGENT, _FanAgent)

    def ended(self, outcome: Outcome) -> None:
        for part in self._parts:
            safe_call("RunObservation.ended", part.ended, None, outcome)


def start_run_observation(observers: Sequence[RunObserver], info: RunInfo) -> RunObservation:
    """One observation for the run, fanned out over every observer (the no-op one when there are none)."""
    started = [safe_call("run_started", o.run_started, NOOP_RUN, info) for o in observers]
    return _fan(started, NOOP_RUN, _FanRun)
