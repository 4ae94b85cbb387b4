"""``ModelCallObservation.event_timer``: the run loop's fast path for the events an observation only timestamps.

For an event whose type is in the timer's ``types`` at that moment, the loop appends ``perf_counter()`` to the
timer's ``times`` instead of calling ``event()``; every other event still goes to ``event()``, which may add
types as the stream goes. Observations without a timer (the default, a duck-typed one without the method, one
whose ``event_timer`` fails or returns something else) get every event through ``event()``. ``Telemetry``
records the same whether the loop times its deltas or calls ``event()`` for each (as the fan-out to several
observers and other front doors do).
"""

from __future__ import annotations

import logging
from time import perf_counter
from typing import Any

import pytest

from otelagents import Agent, AgentObservation, ModelCallObservation, RunConfig, RunObservation, RunObserver
from otelagents.observer import EventTimer
from otelagents.telemetry import semconv as sc
from otelagents.testing import ScriptedModel
from tests.telemetry_helpers import drain, make_rig, points_with, run_to_end

pytestmark = pytest.mark.timeout(30)

TEXT = "response.output_text.delta"
ANSWER = "one two three four five six seven"  # the scripted model streams it word by word


class Recording(ModelCallObservation):
    """Counts the events ``event()`` sees by type; its timer times ``TEXT`` once the first event was seen."""

    def __init__(self, timer: Any = "default") -> None:
        self.seen: list[str] = []
        self.times: list[float] = []
        self.types: set[str] = set()
        self.timer = EventTimer(self.types, self.times) if timer == "default" else timer

    def event_timer(self) -> Any:
        if isinstance(self.timer, BaseException):  # a fresh one: a raised exception keeps the frames it
            raise type(self.timer)(*self.timer.args)  # passed, and the parametrized one lives all session
        return self.timer

    def event(self, event: Any) -> None:
        self.seen.append(event.type)
        self.types.add(TEXT)  # from the next event on


class DuckCall:
    """A model-call observation that does not derive from ``ModelCallObservation`` (no ``event_timer``)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def request_headers(self) -> dict[str, str]:
        return {}

    def request_sent(self) -> None:
        pass

    def event(self, event: Any) -> None:
        self.seen.append(event.type)

    def ended(self, response: Any, outcome: Any) -> None:
        pass


class Observer(RunObserver):
    def __init__(self, make: Any) -> None:
        self.make = make
        self.calls: list[Any] = []

    def run_started(self, run: Any) -> RunObservation:
        observer = self

        class _Agent(AgentObservation):
            def model_call_started(self, call: Any) -> Any:
                observation = observer.make()
                observer.calls.append(observation)
                return observation

        class _Run(RunObservation):
            def agent_started(self, agent: Any, turn: int) -> AgentObservation:
                return _Agent()

        return _Run()


async def run_with(observer: RunObserver, answer: str = ANSWER) -> list[Any]:
    agent = Agent("timed", model=ScriptedModel([answer]))
    result = await run_to_end(agent, "go", RunConfig(observers=[observer]))
    return [e for e in result.new_items]


def text_deltas_in(answer: str) -> int:
    return len(answer.split(" "))


async def test_timed_types_get_a_timestamp_and_every_other_event_goes_to_event() -> None:
    observer = Observer(Recording)
    before = perf_counter()
    await run_with(observer)
    after = perf_counter()
    (call,) = observer.calls
    # The first event went to event() (nothing was timed yet), which asked for TEXT from then on: every text
    # delta was timed, none reached event(); the other events (created, items, completed) all did.
    assert TEXT not in call.seen
    assert call.seen[0] == "response.created" and call.seen[-1] == "response.completed"
    assert len(call.times) == text_deltas_in(ANSWER)
    assert call.times == sorted(call.times) and before < call.times[0] and call.times[-1] < after


async def test_a_type_added_by_event_is_timed_from_the_next_event() -> None:
    class AddsOnFirstText(Recording):
        def event(self, event: Any) -> None:
            self.seen.append(event.type)
            if event.type == TEXT:
                self.types.add(TEXT)

    observer = Observer(AddsOnFirstText)
    await run_with(observer)
    (call,) = observer.calls
    assert call.seen.count(TEXT) == 1  # the first text delta, that turned the timer on
    assert len(call.times) == text_deltas_in(ANSWER) - 1


async def test_a_single_delta_and_an_empty_answer() -> None:
    for answer, timed in (("one", 1), ("", 0)):
        observer = Observer(Recording)
        await run_with(observer, answer)
        (call,) = observer.calls
        assert len(call.times) == timed and TEXT not in call.seen


@pytest.mark.parametrize("make", [DuckCall, lambda: Recording(timer=None)], ids=["duck-typed", "no-timer"])
async def test_an_observation_without_a_timer_gets_every_event(make: Any) -> None:
    observer = Observer(make)
    await run_with(observer)
    (call,) = observer.calls
    assert call.seen.count(TEXT) == text_deltas_in(ANSWER)


@pytest.mark.parametrize("timer, message", [
    (RuntimeError("timer bug"), "timer bug"),
    ("not a timer", "event_timer() must return an otelagents.observer.EventTimer or None, not str"),
])
async def test_a_broken_timer_is_reported_and_the_events_go_to_event(
        timer: Any, message: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("OTELAGENTS_STRICT_OBSERVERS", "0")
    observer = Observer(lambda: Recording(timer=timer))
    with caplog.at_level(logging.WARNING, logger="otelagents.observer"):
        await run_with(observer)
    assert "ModelCallObservation.event_timer" in caplog.text and message in caplog.text
    (call,) = observer.calls
    assert call.seen.count(TEXT) == text_deltas_in(ANSWER) and not call.times


async def test_a_broken_timer_fails_the_run_in_strict_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTELAGENTS_STRICT_OBSERVERS", "1")
    observer = Observer(lambda: Recording(timer=RuntimeError("timer bug")))
    agent = Agent("timed", model=ScriptedModel([ANSWER]))
    from otelagents import Runner

    result = Runner.run_streamed(agent, "go", run_config=RunConfig(observers=[observer]))
    with pytest.raises(RuntimeError, match="timer bug"):
        await drain(result)


def chat_view(rig: Any) -> tuple[Any, ...]:
    """What the telemetry recorded of the model call, timings aside."""
    chat = rig.span(f"{sc.OP_CHAT} scripted-model")
    attrs = chat.attributes or {}
    (gaps,) = points_with(rig.engine, sc.METRIC_TIME_PER_OUTPUT_CHUNK, {})
    (ttft,) = points_with(rig.engine, sc.METRIC_TIME_TO_FIRST_TOKEN, {})
    (first_text,) = points_with(rig.engine, sc.METRIC_RUN_TIME_TO_FIRST_TEXT, {})
    return (attrs[sc.OTELAGENTS_OUTPUT_CHUNKS], sc.OTELAGENTS_TIME_TO_FIRST_TOKEN in attrs,
            sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in attrs, gaps.count, ttft.count, first_text.count)


async def test_telemetry_records_the_same_with_the_timer_and_through_event() -> None:
    timed = make_rig()  # alone: the loop uses its timer
    agent = Agent("timed", model=ScriptedModel([ANSWER], delta_delay=0.001))
    await run_to_end(agent, "go", timed.config())
    through_event = make_rig()  # with another observer: the fan-out calls event() for every event
    agent = Agent("timed", model=ScriptedModel([ANSWER], delta_delay=0.001))
    await run_to_end(agent, "go", RunConfig(observers=[through_event.telemetry, Observer(DuckCall)]))
    chunks = text_deltas_in(ANSWER)
    assert chat_view(timed) == chat_view(through_event) == (chunks, True, True, chunks - 1, 1, 1)
    (gaps,) = points_with(timed.engine, sc.METRIC_TIME_PER_OUTPUT_CHUNK, {})
    assert gaps.min >= 0.0009  # the scripted model's 1 ms between deltas, measured by the timer
