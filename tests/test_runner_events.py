"""Exact event sequences of the run loop, against the scripted model (issue 2)."""

from __future__ import annotations

import asyncio
import time

import pytest
from pydantic import BaseModel

from otelagents import (
    Agent,
    MaxTurnsExceeded,
    ModelBehaviorError,
    RunContextWrapper,
    Runner,
    UserError,
    function_tool,
)
from otelagents.testing import ScriptedModel, failure, handoff, text, tool_call

from .runner_helpers import call_turn, collect, collect_until_error, pending_tasks, signature, text_turn, without_raw


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


async def test_plain_text() -> None:
    agent = Agent(name="Joker", model=ScriptedModel(["Why did the chicken cross"]))
    result = Runner.run_streamed(agent, "Tell me a joke")
    events = await collect(result)
    assert events == [("agent", "Joker"), *text_turn(5), ("item", "message_output_created", "message_output_item")]
    assert result.final_output == "Why did the chicken cross"
    assert result.is_complete and result.current_turn == 1
    assert len(result.raw_responses) == 1 and len(result.new_items) == 1
    assert result.context_wrapper.usage.requests == 1
    assert result.context_wrapper.usage.output_tokens == 5


async def test_tool_call_then_message() -> None:
    """The reference's worked example A."""
    model = ScriptedModel([[tool_call("get_weather", {"city": "Paris"})], "It is sunny."])
    agent = Agent(name="Weather", tools=[get_weather], model=model)
    result = Runner.run_streamed(agent, "Weather in Paris?")
    events = []
    async for event in result.stream_events():
        if event.type == "run_item_stream_event" and event.name == "tool_called":
            assert event.item.raw_item.arguments == '{"city": "Paris"}'
        events.append(signature(event))
    assert events == [
        ("agent", "Weather"),
        *call_turn(1),
        ("item", "tool_called", "tool_call_item"),
        ("item", "tool_output", "tool_call_output_item"),
        *text_turn(3),
        ("item", "message_output_created", "message_output_item"),
    ]
    assert result.final_output == "It is sunny."
    assert result.current_turn == 2
    assert result.new_items[1].output == "sunny in Paris"
    # The second model call saw the call and its output.
    second_input = model.requests[1].input
    assert second_input[-2]["type"] == "function_call"
    assert second_input[-1] == {"call_id": result.new_items[0].raw_item.call_id, "output": "sunny in Paris",
                                "type": "function_call_output"}
    assert result.context_wrapper.usage.requests == 2
    assert len(result.to_input_list()) == 4


async def test_two_parallel_tools_one_raising_run_concurrently_in_call_order() -> None:
    @function_tool
    async def slow(n: int) -> int:
        await asyncio.sleep(0.2)
        return n * 2

    @function_tool
    async def broken() -> str:
        await asyncio.sleep(0.05)
        raise RuntimeError("disk on fire")

    model = ScriptedModel([[tool_call("slow", {"n": 21}), tool_call("broken")], "done"])
    agent = Agent(name="A", tools=[slow, broken], model=model)
    started = time.perf_counter()
    result = Runner.run_streamed(agent, "go")
    events = await collect(result)
    elapsed = time.perf_counter() - started
    assert without_raw(events) == [
        ("agent", "A"),
        ("item", "tool_called", "tool_call_item"),
        ("item", "tool_called", "tool_call_item"),
        ("item", "tool_output", "tool_call_output_item"),
        ("item", "tool_output", "tool_call_output_item"),
        ("item", "message_output_created", "message_output_item"),
    ]
    outputs = [i for i in result.new_items if i.type == "tool_call_output_item"]
    assert [o.output for o in outputs] == [42, "An error occurred while running the tool. Please try again."]
    assert outputs[0].raw_item["output"] == "42"
    assert elapsed < 0.45, "tools did not run concurrently"
    assert result.final_output == "done"


async def test_fatal_tool_error_delivers_finished_siblings_then_raises() -> None:
    @function_tool
    async def quick() -> str:
        return "ok"

    @function_tool(failure_error_function=None)
    async def boom() -> str:
        await asyncio.sleep(0.05)
        raise ValueError("bad value")

    @function_tool
    async def forever() -> str:
        await asyncio.sleep(30)
        return "never"

    model = ScriptedModel([[tool_call("quick"), tool_call("boom"), tool_call("forever")]])
    agent = Agent(name="A", tools=[quick, boom, forever], model=model)
    result = Runner.run_streamed(agent, "go")
    events, error = await collect_until_error(result)
    assert isinstance(error, UserError)
    assert str(error) == "Error running tool boom: bad value"
    assert isinstance(error.__cause__, ValueError)
    assert without_raw(events)[-1] == ("item", "tool_output", "tool_call_output_item")
    assert sum(1 for e in events if e[:2] == ("item", "tool_output")) == 1
    assert result.is_complete and result.final_output is None
    assert error.run_data is not None and error.run_data.last_agent is agent
    assert not pending_tasks()


async def test_handoff() -> None:
    """The reference's worked example B."""
    spanish = Agent(name="Spanish Agent", model=ScriptedModel(["Hola!"]))
    triage = Agent(name="Triage", handoffs=[spanish], model=ScriptedModel([[handoff(spanish)]]))
    result = Runner.run_streamed(triage, "Hola")
    events = await collect(result)
    assert events == [
        ("agent", "Triage"),
        *call_turn(1),
        ("item", "handoff_requested", "handoff_call_item"),
        ("item", "handoff_occured", "handoff_output_item"),
        ("agent", "Spanish Agent"),
        *text_turn(1),
        ("item", "message_output_created", "message_output_item"),
    ]
    assert result.current_turn == 2
    assert result.last_agent is spanish and result.current_agent is spanish
    assert result.new_items[1].raw_item["output"] == '{"assistant": "Spanish Agent"}'
    assert result.new_items[1].source_agent is triage and result.new_items[1].target_agent is spanish
    assert len(result.to_input_list()) == 4
    assert result.final_output == "Hola!"


async def test_max_turns_exceeded_after_every_event_of_the_last_turn() -> None:
    model = ScriptedModel([[tool_call("get_weather", {"city": "X"})]], repeat=True)
    agent = Agent(name="Loop", tools=[get_weather], model=model)
    result = Runner.run_streamed(agent, "go", max_turns=2)
    events, error = await collect_until_error(result)
    assert isinstance(error, MaxTurnsExceeded)
    assert str(error) == "Max turns (2) exceeded"
    assert without_raw(events) == [("agent", "Loop")] + [
        ("item", "tool_called", "tool_call_item"),
        ("item", "tool_output", "tool_call_output_item"),
    ] * 2
    assert len(model.requests) == 2
    assert result.is_complete and result.final_output is None
    assert result.run_loop_exception is error
    with pytest.raises(MaxTurnsExceeded):
        await result.run_loop_task  # type: ignore[misc]


class Weather(BaseModel):
    city: str
    temperature_c: float


async def test_structured_output_type() -> None:
    model = ScriptedModel(['{"city": "Paris", "temperature_c": 21.5}'])
    agent = Agent(name="S", output_type=Weather, model=model)
    result = Runner.run_streamed(agent, "go")
    events = await collect(result)
    assert without_raw(events) == [("agent", "S"), ("item", "message_output_created", "message_output_item")]
    assert result.final_output == Weather(city="Paris", temperature_c=21.5)
    assert model.requests[0].output_schema.json_schema()["required"] == ["city", "temperature_c"]


async def test_structured_output_invalid_json_raises() -> None:
    agent = Agent(name="S", output_type=Weather, model=ScriptedModel(["not json"]))
    with pytest.raises(ModelBehaviorError, match="Invalid JSON when parsing model output"):
        await Runner.run(agent, "go")


async def test_cancel_immediate_at_tool_called() -> None:
    calls: list[str] = []

    @function_tool
    async def record() -> str:
        calls.append("ran")
        return "x"

    agent = Agent(name="A", tools=[record], model=ScriptedModel([[tool_call("record")], "after"]))
    result = Runner.run_streamed(agent, "go")
    seen = []
    async for event in result.stream_events():
        seen.append(event)
        if event.type == "run_item_stream_event" and event.name == "tool_called":
            result.cancel()
    assert seen[-1].type == "run_item_stream_event" and seen[-1].name == "tool_called"
    assert calls == []
    assert result.new_items == [] and result.raw_responses == []
    assert result.final_output is None and result.is_complete
    assert result.run_loop_task is not None and result.run_loop_task.done()
    assert not pending_tasks()


async def test_cancel_after_turn_finishes_the_turn() -> None:
    calls: list[str] = []

    @function_tool
    async def record() -> str:
        calls.append("ran")
        return "x"

    model = ScriptedModel([[tool_call("record")], "after"])
    agent = Agent(name="A", tools=[record], model=model)
    result = Runner.run_streamed(agent, "go")
    names = []
    async for event in result.stream_events():
        if event.type == "run_item_stream_event":
            names.append(event.name)
            if event.name == "tool_called":
                result.cancel(mode="after_turn")
    assert names == ["tool_called", "tool_output"]
    assert calls == ["ran"]
    assert [i.type for i in result.new_items] == ["tool_call_item", "tool_call_output_item"]
    assert result.final_output is None and result.is_complete
    assert len(model.requests) == 1


async def test_cancel_before_iterating_yields_nothing() -> None:
    agent = Agent(name="A", model=ScriptedModel(["hello"]))
    result = Runner.run_streamed(agent, "go")
    result.cancel()
    result.cancel()  # idempotent
    assert [e async for e in result.stream_events()] == []
    assert result.is_complete


async def test_consumer_break_cancels_the_run() -> None:
    """Deliberately better than the SDK: leaving the loop stops the run."""
    tool_runs: list[str] = []

    @function_tool
    async def record() -> str:
        tool_runs.append("ran")
        return "x"

    model = ScriptedModel([[tool_call("record")], "after"], delta_delay=0.01)
    agent = Agent(name="A", tools=[record], model=model)
    result = Runner.run_streamed(agent, "go")
    async for event in result.stream_events():
        if event.type == "raw_response_event" and event.data.type == "response.output_item.added":
            break
    task = result.run_loop_task
    assert task is not None
    await asyncio.wait([task], timeout=2)
    assert task.done() and task.cancelled()
    assert result.is_complete and result.final_output is None
    assert tool_runs == [] and len(model.requests) == 1
    assert not pending_tasks()


async def test_consumer_wait_cancelled_cancels_the_run() -> None:
    agent = Agent(name="A", model=ScriptedModel(["slow answer here"], first_token_delay=5))
    result = Runner.run_streamed(agent, "go")
    stream = result.stream_events()
    first = await stream.__anext__()
    assert first.type == "agent_updated_stream_event"
    await stream.__anext__()  # response.created
    await stream.__anext__()  # response.in_progress
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(stream.__anext__(), 0.1)
    assert result.is_complete
    assert result.run_loop_task is not None
    await asyncio.wait([result.run_loop_task], timeout=2)
    assert result.run_loop_task.cancelled()


async def test_model_failure_event_delivers_queued_events_then_raises() -> None:
    agent = Agent(name="A", model=ScriptedModel([[text("partial answer"), failure("failed", "overloaded")]]))
    result = Runner.run_streamed(agent, "go")
    events, error = await collect_until_error(result)
    assert isinstance(error, ModelBehaviorError)
    assert str(error).startswith("Responses stream ended with terminal event `response.failed`.")
    assert "overloaded" in str(error)
    assert events[0] == ("agent", "A")
    assert events[-1] == ("raw", "response.failed")
    assert ("raw", "response.output_text.delta") in events
    assert result.is_complete and result.final_output is None


async def test_stream_without_completion_raises() -> None:
    agent = Agent(name="A", model=ScriptedModel([[text("cut"), failure("truncated")]]))
    with pytest.raises(ModelBehaviorError, match="Model did not produce a final response!"):
        await Runner.run(agent, "go")


async def test_early_failure_yields_agent_updated_then_the_error() -> None:
    agent = Agent(name="A", model="definitely-not-a-model", tools=[get_weather])
    agent.model = ScriptedModel([[tool_call("no_such_tool")]])
    result = Runner.run_streamed(agent, "go")
    events, error = await collect_until_error(result)
    assert isinstance(error, ModelBehaviorError)
    assert str(error) == "Tool no_such_tool not found in agent A"
    assert events[0] == ("agent", "A") and events[-1] == ("raw", "response.completed")


async def test_unknown_tool_returned_to_model_when_configured() -> None:
    agent = Agent(name="A", model=ScriptedModel([[tool_call("nope")], "ok"]))
    result = await Runner.run(agent, "go", run_config={"tool_not_found_behavior": "return_error_to_model"})
    assert result.new_items[1].output == "Tool 'nope' not found."
    assert result.final_output == "ok"


async def test_second_iteration_yields_nothing_and_run_and_run_sync_share_the_loop() -> None:
    agent = Agent(name="A", model=ScriptedModel(["one"], repeat=True))
    result = Runner.run_streamed(agent, "go")
    await collect(result)
    assert [e async for e in result.stream_events()] == []
    plain = await Runner.run(agent, "go")
    assert plain.final_output == "one" and plain.last_agent is agent


def test_run_sync_outside_a_loop_and_inside_one() -> None:
    agent = Agent(name="A", model=ScriptedModel(["sync"], repeat=True))
    assert Runner.run_sync(agent, "go").final_output == "sync"

    async def inside() -> None:
        with pytest.raises(RuntimeError, match="running event loop"):
            Runner.run_sync(agent, "go")

    asyncio.run(inside())


def test_run_streamed_needs_a_running_loop() -> None:
    agent = Agent(name="A", model=ScriptedModel(["x"]))
    with pytest.raises(RuntimeError):
        Runner.run_streamed(agent, "go")


async def test_instructions_callable_resolved_every_turn_and_context_reaches_tools() -> None:
    seen_turns: list[int] = []

    async def instructions(ctx: RunContextWrapper[dict[str, int]], agent: Agent[dict[str, int]]) -> str:
        ctx.context["n"] += 1
        seen_turns.append(ctx.context["n"])
        return f"turn {ctx.context['n']}"

    @function_tool
    def read_ctx(ctx: RunContextWrapper[dict[str, int]], key: str) -> int:
        return ctx.context[key]

    model = ScriptedModel([[tool_call("read_ctx", {"key": "n"})], "done"])
    agent = Agent(name="A", instructions=instructions, tools=[read_ctx], model=model)
    result = await Runner.run(agent, "go", context={"n": 0})
    assert seen_turns == [1, 2]
    assert [r.system_instructions for r in model.requests] == ["turn 1", "turn 2"]
    assert result.new_items[1].output == 1
    assert "ctx" not in read_ctx.params_json_schema["properties"]


async def test_sync_tool_runs_off_the_event_loop() -> None:
    import threading

    main_thread = threading.get_ident()
    threads: list[int] = []

    @function_tool
    def blocking() -> str:
        threads.append(threading.get_ident())
        time.sleep(0.05)
        return "ok"

    agent = Agent(name="A", tools=[blocking], model=ScriptedModel([[tool_call("blocking")], "done"]))
    await Runner.run(agent, "go")
    assert threads and threads[0] != main_thread


async def test_tool_use_behavior_stop_on_first_tool() -> None:
    agent = Agent(name="A", tools=[get_weather], tool_use_behavior="stop_on_first_tool",
                  model=ScriptedModel([[tool_call("get_weather", {"city": "Oslo"})]]))
    result = await Runner.run(agent, "go")
    assert result.final_output == "sunny in Oslo"


async def test_bad_tool_arguments_are_reported_to_the_model() -> None:
    model = ScriptedModel([[tool_call("get_weather", "{not json")], "sorry"])
    agent = Agent(name="A", tools=[get_weather], model=model)
    result = await Runner.run(agent, "go")
    assert result.new_items[1].output == "An error occurred while running the tool. Please try again."
