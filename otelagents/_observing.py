"""Observer plumbing: the global observer list, fan-out to several observers, and isolation.

An observer that raises must not break the run: the error is logged and the run goes on with less
telemetry. Under pytest (``PYTEST_CURRENT_TEST`` set) the error is re-raised instead, so bugs in
telemetry fail tests rather than hide; ``OTELAGENTS_STRICT_OBSERVERS=0`` or ``=1`` forces either way.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any, TypeVar

from .observer import (
    NOOP_AGENT,
    NOOP_GUARDRAIL,
    NOOP_HANDOFF,
    NOOP_MODEL_CALL,
    NOOP_RUN,
    NOOP_TOOL,
    AgentObservation,
    EventTimer,
    GuardrailInfo,
    GuardrailObservation,
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
        raise TypeError(f"add_run_observer() expected a RunObserver, got {type(observer).__name__}: subclass "
                        "otelagents.RunObserver and override run_started()")
    if observer not in _global_observers:
        _global_observers.append(observer)


def remove_run_observer(observer: RunObserver) -> None:
    if observer in _global_observers:
        _global_observers.remove(observer)


def get_run_observers() -> list[RunObserver]:
    """Every observer that sees each run, besides ``RunConfig.observers``: the telemetry slot, then the rest."""
    slot = telemetry_observer()
    return list(_global_observers) if slot is None or slot in _global_observers else [slot, *_global_observers]


# --- the telemetry slot -------------------------------------------------------------------------------
# One process-wide observer stands for "otelagents' telemetry". Until someone fills it, it holds the
# default observer (GenAI spans and metrics through the global OpenTelemetry providers), loaded by name on
# the first run so that this module, and the run loop, never import OpenTelemetry themselves.
# ``otelagents.telemetry.instrument()`` / ``setup()`` put their own ``Telemetry`` in the slot (replacing the
# default: a run is observed once); ``uninstrument()`` / ``disable()`` empty it.

DEFAULT_TELEMETRY = "otelagents.telemetry._default:DEFAULT_TELEMETRY"
_UNLOADED: Any = object()
_telemetry_slot: RunObserver | None = _UNLOADED


def set_telemetry_observer(observer: RunObserver | None) -> RunObserver | None:
    """Put ``observer`` in the telemetry slot (``None``: no telemetry); returns what was there."""
    global _telemetry_slot
    if observer is not None and not isinstance(observer, RunObserver):
        raise TypeError(f"set_telemetry_observer() expected a RunObserver or None, got {type(observer).__name__}: "
                        "pass an otelagents.telemetry.Telemetry, another RunObserver, or None for no telemetry")
    previous = telemetry_observer()
    _telemetry_slot = observer
    return previous


def reset_telemetry_observer() -> None:
    """Put the default observer back in the telemetry slot (it is loaded again on the next run)."""
    global _telemetry_slot
    _telemetry_slot = _UNLOADED


def telemetry_observer() -> RunObserver | None:
    """What the telemetry slot holds now (the default observer unless replaced or emptied)."""
    global _telemetry_slot
    if _telemetry_slot is _UNLOADED:
        module, _, name = DEFAULT_TELEMETRY.partition(":")
        try:
            _telemetry_slot = getattr(importlib.import_module(module), name)
        except ImportError as exc:  # OpenTelemetry not importable: runs go on, untraced
            logger.warning("otelagents' default telemetry could not be loaded (%r); runs are not traced", exc)
            _telemetry_slot = None
    return _telemetry_slot


def run_observers(per_run: Sequence[RunObserver]) -> list[RunObserver]:
    """The observers of one run: global ones, then ``per_run``; each object once, whatever the path."""
    seen: set[int] = set()
    unique: list[RunObserver] = []
    for observer in (*get_run_observers(), *per_run):
        if id(observer) not in seen:
            seen.add(id(observer))
            unique.append(observer)
    return unique


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


def call_each(where: str, methods: Sequence[Callable[..., Any]], *args: Any) -> None:
    """Call every method, even when one raises; then report the first failure (raised in strict mode)."""
    failure: Exception | None = None
    for method in methods:
        try:
            method(*args)
        except Exception as exc:
            failure = failure or exc
    if failure is not None:
        observer_failed(where, failure)


def safe_call(where: str, fn: Callable[..., T], default: T, *args: Any) -> T:
    try:
        return fn(*args)
    except Exception as exc:
        observer_failed(where, exc)
        return default


def event_timer_of(call_obs: Any) -> EventTimer | None:
    """The observation's fast path, if it offers one (an observation written before it existed may lack
    the method)."""
    event_timer = getattr(call_obs, "event_timer", None)
    if event_timer is None:
        return None
    try:
        timer = event_timer()
    except Exception as exc:
        observer_failed("ModelCallObservation.event_timer", exc)
        return None
    if timer is not None and not isinstance(timer, EventTimer):
        observer_failed("ModelCallObservation.event_timer", TypeError(
            f"event_timer() must return an otelagents.observer.EventTimer or None, not {type(timer).__name__}; "
            "every event goes to event() instead"))
        return None
    return timer


class _FanModelCall(ModelCallObservation):
    __slots__ = ("_parts",)

    def __init__(self, parts: Sequence[ModelCallObservation]) -> None:
        self._parts = tuple(parts)

    def request_headers(self) -> Mapping[str, str]:
        headers: dict[str, str] = {}
        for part in self._parts:
            no_headers: Mapping[str, str] = {}
            headers.update(safe_call("ModelCallObservation.request_headers", part.request_headers, no_headers))
        return headers

    def request_sent(self) -> None:
        call_each("ModelCallObservation.request_sent", [p.request_sent for p in self._parts])

    def event(self, event: Any) -> None:
        for part in self._parts:
            try:
                part.event(event)
            except Exception as exc:
                observer_failed("ModelCallObservation.event", exc)

    def ended(self, response: Any, outcome: Outcome) -> None:
        call_each("ModelCallObservation.ended", [p.ended for p in self._parts], response, outcome)


class _FanTool(ToolObservation):
    def __init__(self, parts: Sequence[ToolObservation]) -> None:
        self._parts = tuple(parts)

    def activate(self) -> AbstractContextManager[Any]:
        return _fan_activate(self._parts)

    def ended(self, outcome: Outcome) -> None:
        call_each("ToolObservation.ended", [p.ended for p in self._parts], outcome)


@contextmanager
def safe_activate(observation: ToolObservation) -> Iterator[None]:
    """Enter ``observation.activate()`` with its failures contained (the tool runs either way)."""
    try:
        manager = observation.activate()
        manager.__enter__()
    except Exception as exc:
        observer_failed("ToolObservation.activate", exc)
        yield
        return
    try:
        yield
    except BaseException as exc:
        try:
            suppress = manager.__exit__(type(exc), exc, exc.__traceback__)
        except Exception as inner:
            observer_failed("ToolObservation.activate (exit)", inner)
            raise exc from None
        if not suppress:
            raise
    else:
        try:
            manager.__exit__(None, None, None)
        except Exception as exc:
            observer_failed("ToolObservation.activate (exit)", exc)


@contextmanager
def _fan_activate(parts: Sequence[ToolObservation]) -> Iterator[None]:
    with ExitStack() as stack:
        for part in parts:
            stack.enter_context(safe_activate(part))
        yield


class _FanHandoff(HandoffObservation):
    def __init__(self, parts: Sequence[HandoffObservation]) -> None:
        self._parts = tuple(parts)

    def ended(self, outcome: Outcome) -> None:
        call_each("HandoffObservation.ended", [p.ended for p in self._parts], outcome)


class _FanGuardrail(GuardrailObservation):
    def __init__(self, parts: Sequence[GuardrailObservation]) -> None:
        self._parts = tuple(parts)

    def ended(self, outcome: Outcome, triggered: bool = False) -> None:
        call_each("GuardrailObservation.ended", [p.ended for p in self._parts], outcome, triggered)


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

    def guardrail_started(self, guardrail: GuardrailInfo) -> GuardrailObservation:
        started = [safe_call("guardrail_started", p.guardrail_started, NOOP_GUARDRAIL, guardrail)
                   for p in self._parts]
        return _fan(started, NOOP_GUARDRAIL, _FanGuardrail)

    def ended(self, outcome: Outcome) -> None:
        call_each("AgentObservation.ended", [p.ended for p in self._parts], outcome)


class _FanRun(RunObservation):
    def __init__(self, parts: Sequence[RunObservation]) -> None:
        self._parts = tuple(parts)

    def agent_started(self, agent: Any, turn: int) -> AgentObservation:
        started = [safe_call("agent_started", p.agent_started, NOOP_AGENT, agent, turn) for p in self._parts]
        return _fan(started, NOOP_AGENT, _FanAgent)

    def consumer_left(self) -> None:
        call_each("RunObservation.consumer_left", [p.consumer_left for p in self._parts])

    def ended(self, outcome: Outcome) -> None:
        call_each("RunObservation.ended", [p.ended for p in self._parts], outcome)


def start_run_observation(observers: Sequence[RunObserver], info: RunInfo) -> RunObservation:
    """One observation for the run, fanned out over every observer (the no-op one when there are none)."""
    started: list[RunObservation] = []
    failure: Exception | None = None
    for observer in observers:
        try:
            started.append(observer.run_started(info))
        except Exception as exc:
            failure = failure or exc
    run = _fan(started, NOOP_RUN, _FanRun)
    if failure is not None:
        try:
            observer_failed("RunObserver.run_started", failure)
        except Exception:
            # Strict mode: the run fails before it starts; end what the other observers began.
            call_each("RunObservation.ended", [run.ended], Outcome(error=failure))
            raise
    return run
