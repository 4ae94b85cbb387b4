"""``observed_check``, the one guardrail-observation wrapper behind the run loop's input, output and tool
guardrails and the SDK plugin's tool guardrails: each way a check can end reaches its observation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from otelagents import Agent
from otelagents._observed_guardrail import observed_check
from otelagents.observer import GuardrailInfo, GuardrailObservation, Outcome


class Recorded(GuardrailObservation):
    def __init__(self) -> None:
        self.endings: list[tuple[Outcome, bool]] = []

    def ended(self, outcome: Outcome, triggered: bool = False) -> None:
        self.endings.append((outcome, triggered))


INFO = GuardrailInfo(agent=Agent(name="Checked"), name="check", kind="input")


async def run(check: Any, tripped: Any) -> tuple[Recorded, Any]:
    seen: list[GuardrailInfo] = []
    observation = Recorded()

    def start(info: GuardrailInfo) -> GuardrailObservation:
        seen.append(info)
        return observation

    result = await observed_check(start, INFO, check, tripped)
    assert seen == [INFO]
    return observation, result


async def value(result: str) -> str:
    return result


@pytest.mark.parametrize("verdict", [False, True])
async def test_a_check_that_passes_or_trips_and_lets_the_run_go_on(verdict: bool) -> None:
    observation, result = await run(lambda: value("ok"), lambda r: verdict)
    assert result == "ok"
    ((outcome, triggered),) = observation.endings
    assert outcome.ok and triggered is verdict


async def test_a_tripwire_that_stops_the_run_ends_with_its_error() -> None:
    stop = RuntimeError("tripped")
    observation, result = await run(lambda: value("bad"), lambda r: stop if r == "bad" else False)
    assert result == "bad"  # the caller raises it: the check's own result still comes back
    ((outcome, triggered),) = observation.endings
    assert outcome.error is stop and not outcome.cancelled and triggered


async def test_a_check_that_raises_ends_with_the_error_and_it_propagates() -> None:
    async def broken() -> str:
        raise ValueError("guardrail bug")

    observation = Recorded()
    with pytest.raises(ValueError, match="guardrail bug"):
        await observed_check(lambda info: observation, INFO, broken, lambda r: True)
    ((outcome, triggered),) = observation.endings
    assert isinstance(outcome.error, ValueError) and not outcome.cancelled and not triggered


async def test_a_cancelled_check_ends_cancelled() -> None:
    observation = Recorded()
    started = asyncio.Event()

    async def slow() -> str:
        started.set()
        await asyncio.sleep(30)
        return "late"

    task = asyncio.ensure_future(observed_check(lambda info: observation, INFO, slow, lambda r: True))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    ((outcome, triggered),) = observation.endings
    assert outcome.cancelled and isinstance(outcome.error, asyncio.CancelledError) and not triggered
