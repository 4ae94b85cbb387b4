"""Production lifecycle (issue 15): stream iteration semantics. A failed run's error reaches every
iteration and every consumer; a consumer that reads one event, keeps the iterator and awaits the run never
deadlocks a multi-turn run, and loses no event."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from otelagents import Agent, Runner, function_tool
from otelagents.exceptions import ModelBehaviorError
from otelagents.result import RunResultStreaming
from otelagents.testing.scripted import ScriptedModel, failure, tool_call


@function_tool
def step(n: int) -> str:
    """One step."""
    return f"step {n}"


def three_turns() -> Agent[Any]:
    model = ScriptedModel([[tool_call("step", {"n": 1})], [tool_call("step", {"n": 2})], "done"])
    return Agent("multi", model=model, tools=[step])


def failing() -> Agent[Any]:
    return Agent("broken", model=ScriptedModel([[tool_call("step", {"n": 1})], failure("failed", "boom")]),
                 tools=[step])


async def consume(result: RunResultStreaming) -> list[str]:
    return [event.type async for event in result.stream_events()]


async def test_every_iteration_after_a_failed_run_raises_its_error() -> None:
    result = Runner.run_streamed(failing(), "go")
    with pytest.raises(ModelBehaviorError) as first:
        await asyncio.wait_for(consume(result), 10)
    for _ in range(2):
        with pytest.raises(ModelBehaviorError) as again:
            await asyncio.wait_for(consume(result), 10)
        assert again.value is first.value
    assert result.is_complete


async def test_every_consumer_of_a_failed_run_sees_its_error() -> None:
    result = Runner.run_streamed(failing(), "go")
    outcomes = await asyncio.wait_for(asyncio.gather(consume(result), consume(result),
                                                     return_exceptions=True), 10)
    assert all(isinstance(o, ModelBehaviorError) for o in outcomes), outcomes
    assert outcomes[0] is outcomes[1]


async def test_iterating_a_successful_run_again_ends_cleanly() -> None:
    result = Runner.run_streamed(three_turns(), "go")
    assert (await asyncio.wait_for(consume(result), 10))[-1] == "run_item_stream_event"
    assert await asyncio.wait_for(consume(result), 10) == []
    assert result.final_output == "done"


AWAITS: dict[str, Callable[[asyncio.Task[Any]], Awaitable[Any]]] = {
    "await": lambda task: task,
    "wait": lambda task: asyncio.wait([task]),
    "gather": lambda task: asyncio.gather(task),
    "wait_for": lambda task: asyncio.wait_for(task, 30),
}


@pytest.mark.parametrize("how", sorted(AWAITS))
async def test_reading_one_event_then_awaiting_the_run_never_deadlocks(how: str) -> None:
    result = Runner.run_streamed(three_turns(), "go")
    events = result.stream_events()
    first = await asyncio.wait_for(events.__anext__(), 10)
    task = result.run_loop_task
    assert task is not None
    await asyncio.wait_for(AWAITS[how](task), 15)  # used to hang forever before the second turn
    assert result.final_output == "done" and result.current_turn == 3
    rest = [event.type async for event in events]  # the held iterator still gets every remaining event
    assert first.type == "agent_updated_stream_event"
    assert rest.count("run_item_stream_event") == 2 * 2 + 1  # two tool calls and outputs, one message
    reference = Runner.run_streamed(three_turns(), "go")
    assert [first.type, *rest] == await asyncio.wait_for(consume(reference), 10)


async def test_a_held_iterator_still_holds_the_next_turn_when_nobody_awaits_the_run() -> None:
    model = ScriptedModel([[tool_call("step", {"n": 1})], "done"])
    result = Runner.run_streamed(Agent("held", model=model, tools=[step]), "go")
    events = result.stream_events()
    seen = []
    while True:  # read up to the tool output, the last event of turn one
        event = await asyncio.wait_for(events.__anext__(), 10)
        seen.append(event)
        if getattr(getattr(event, "item", None), "type", "") == "tool_call_output_item":
            break
    await asyncio.sleep(0.3)  # the consumer is busy handling it
    assert result.current_turn == 1  # back-pressure: turn two waits for the consumer
    rest = [event async for event in events]
    assert result.current_turn == 2 and result.final_output == "done" and rest


async def test_awaiting_the_run_long_after_holding_an_event_still_finishes_it() -> None:
    result = Runner.run_streamed(three_turns(), "go")
    events = result.stream_events()
    while (await asyncio.wait_for(events.__anext__(), 10)).type != "run_item_stream_event":
        pass  # up to the first item of turn one
    await asyncio.sleep(1.5)  # the run has waited for the consumer for a while (its checks back off)
    assert result.current_turn == 1
    task = result.run_loop_task
    assert task is not None
    await asyncio.wait_for(task, 15)
    assert result.final_output == "done"
    assert [event.type async for event in events]  # the rest is still there
