"""Input and output guardrails over both APIs and the real HTTP server: exact event sequences, tripwires,
results on the result object, and the SDK's streaming semantics (blocking guardrails before the first model
call, parallel ones alongside it and before any tool runs, output guardrails on the agent that answers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from otelagents import (
    Agent,
    GuardrailFunctionOutput,
    InputGuardrail,
    InputGuardrailTripwireTriggered,
    OutputGuardrailTripwireTriggered,
    RunConfig,
    RunHooks,
    Runner,
    UserError,
    function_tool,
    input_guardrail,
    output_guardrail,
)
from otelagents.testing.server import OpenAICompatServer, Reply

from .runner_helpers import collect, collect_until_error, pending_tasks, text_turn
from .sdk_parity import make_model, ours

APIS = ["responses", "chat_completions"]


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer() as srv:
        yield srv


def trip_if(word: str, info: Any = None) -> Any:
    def check(ctx: Any, agent: Agent[Any], value: Any) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(output_info=info, tripwire_triggered=word in str(value))

    check.__name__ = f"no_{word}"
    return check


@pytest.mark.parametrize("api", APIS)
async def test_blocking_input_guardrail_trips_before_any_model_request(api: str, server: OpenAICompatServer) -> None:
    seen: list[Any] = []

    @input_guardrail(run_in_parallel=False)
    def no_secret(ctx: Any, agent: Agent[Any], value: Any) -> GuardrailFunctionOutput:
        seen.append(value)
        return GuardrailFunctionOutput(output_info={"why": "secret"}, tripwire_triggered="secret" in str(value))

    agent = Agent(name="A", model=make_model(ours(), api, server), input_guardrails=[no_secret])
    result = Runner.run_streamed(agent, "the secret")
    events, error = await collect_until_error(result)
    assert events == [("agent", "A")]
    assert isinstance(error, InputGuardrailTripwireTriggered)
    assert error.guardrail_result.guardrail is no_secret
    assert error.guardrail_result.output.output_info == {"why": "secret"}
    assert str(error) == "Guardrail InputGuardrail triggered tripwire"
    assert error.run_data is not None and [r.guardrail for r in error.run_data.input_guardrail_results] == [no_secret]
    assert [r.output.tripwire_triggered for r in result.input_guardrail_results] == [True]
    assert seen == [[{"content": "the secret", "role": "user"}]]  # streamed: the input as a list of items
    assert server.requests == []
    assert result.final_output is None and not pending_tasks()


@pytest.mark.parametrize("api", APIS)
async def test_parallel_input_guardrail_trip_stops_the_turn_before_its_tools(
    api: str, server: OpenAICompatServer
) -> None:
    """The guardrail decides after the model answered: the turn's events are out, its tool never runs."""
    model_done = asyncio.Event()
    ran: list[str] = []

    class Hooks(RunHooks[Any]):
        async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
            model_done.set()

    @function_tool
    def act() -> str:
        ran.append("act")
        return "done"

    @input_guardrail
    async def late(ctx: Any, agent: Agent[Any], value: Any) -> GuardrailFunctionOutput:
        await asyncio.wait_for(model_done.wait(), 10)
        return GuardrailFunctionOutput(output_info="late", tripwire_triggered=True)

    server.add(Reply.tool_calls([("act", {})]))
    agent = Agent(name="A", model=make_model(ours(), api, server), tools=[act], input_guardrails=[late])
    result = Runner.run_streamed(agent, "go", hooks=Hooks())
    events, error = await collect_until_error(result)
    assert isinstance(error, InputGuardrailTripwireTriggered)
    assert [e for e in events if e[0] != "raw"] == [("agent", "A"), ("item", "tool_called", "tool_call_item")]
    assert events[-2] == ("raw", "response.completed")
    assert ran == [] and len(server.requests) == 1
    assert result.new_items == [] and result.final_output is None


@pytest.mark.parametrize("api", APIS)
async def test_parallel_input_guardrail_trip_cancels_the_model_call(api: str, server: OpenAICompatServer) -> None:
    server.add(Reply.text("never seen", ttft=30.0))
    agent = Agent(name="A", model=make_model(ours(), api, server), input_guardrails=[input_guardrail(trip_if("x"))])
    result = Runner.run_streamed(agent, "x")
    events, error = await collect_until_error(result, timeout=10)
    assert isinstance(error, InputGuardrailTripwireTriggered)
    assert events[0] == ("agent", "A")
    assert all(e[0] == "raw" for e in events[1:]) and ("raw", "response.output_text.delta") not in events
    assert not pending_tasks()


@pytest.mark.parametrize("api", APIS)
async def test_passing_guardrails_leave_the_stream_unchanged_and_report_results(
    api: str, server: OpenAICompatServer
) -> None:
    server.add(Reply.text("Hello there", chunks=2))
    blocking = input_guardrail(run_in_parallel=False, name="blocking")(trip_if("x", info=1))
    parallel = input_guardrail(trip_if("y", info=2))
    from_config = input_guardrail(name="config")(trip_if("z", info=3))
    out = output_guardrail(name="out")(trip_if("nope", info=4))
    agent = Agent(name="A", model=make_model(ours(), api, server), input_guardrails=[blocking, parallel],
                  output_guardrails=[out])
    result = Runner.run_streamed(agent, "hi", run_config=RunConfig(input_guardrails=[from_config]))
    events = await collect(result)
    assert [e for e in events if e[0] != "raw"] == [("agent", "A"), ("item", "message_output_created",
                                                                       "message_output_item")]
    if api == "responses":
        assert [e for e in events if e[0] == "raw"] == text_turn(2)
    assert result.final_output == "Hello there"
    assert [r.guardrail.get_name() for r in result.input_guardrail_results][0] == "blocking"
    assert sorted(r.guardrail.get_name() for r in result.input_guardrail_results) == ["blocking", "config", "no_y"]
    assert sorted(r.output.output_info for r in result.input_guardrail_results) == [1, 2, 3]
    [checked] = result.output_guardrail_results
    assert (checked.guardrail, checked.agent, checked.agent_output, checked.output.output_info) == (
        out, agent, "Hello there", 4)


@pytest.mark.parametrize("api", APIS)
async def test_output_guardrails_run_on_the_agent_that_answers_after_a_handoff(
    api: str, server: OpenAICompatServer
) -> None:
    model = make_model(ours(), api, server)
    on_b = output_guardrail(name="on_b")(trip_if("LOUD"))
    on_a = output_guardrail(name="on_a")(trip_if("LOUD"))
    on_config = output_guardrail(name="on_config")(trip_if("never"))
    b = Agent(name="B", model=model, output_guardrails=[on_b])
    a = Agent(name="A", model=model, handoffs=[b], output_guardrails=[on_a])
    server.add(Reply.handoff("transfer_to_b"), Reply.text("LOUD answer"))
    result = Runner.run_streamed(a, "hi", run_config=RunConfig(output_guardrails=[on_config]))
    events, error = await collect_until_error(result)
    assert isinstance(error, OutputGuardrailTripwireTriggered)
    assert error.guardrail_result.guardrail is on_b and error.guardrail_result.agent is b
    assert [e for e in events if e[0] != "raw"] == [
        ("agent", "A"), ("item", "handoff_requested", "handoff_call_item"),
        ("item", "handoff_occured", "handoff_output_item"), ("agent", "B"),
        ("item", "message_output_created", "message_output_item"),
    ]
    assert sorted(r.guardrail.get_name() for r in result.output_guardrail_results) in (["on_b"], ["on_b", "on_config"])
    assert result.final_output is None
    assert error.run_data is not None and error.run_data.output_guardrail_results


async def test_non_streamed_runs_raise_the_tripwire_and_report_results(server: OpenAICompatServer) -> None:
    model = make_model(ours(), "responses", server)
    agent = Agent(name="A", model=model, input_guardrails=[input_guardrail(trip_if("bad"))])
    with pytest.raises(InputGuardrailTripwireTriggered):
        await Runner.run(agent, "bad input")
    server.add(Reply.text("fine"))
    result = await Runner.run(agent, [{"role": "user", "content": "good input"}])
    assert result.final_output == "fine"
    [passed] = result.input_guardrail_results
    assert not passed.output.tripwire_triggered


def test_run_sync_raises_the_output_tripwire(server: OpenAICompatServer) -> None:
    server.add(Reply.text("bad output"))
    agent = Agent(name="A", model=make_model(ours(), "responses", server),
                  output_guardrails=[output_guardrail(trip_if("bad"))])
    with pytest.raises(OutputGuardrailTripwireTriggered) as caught:
        Runner.run_sync(agent, "hi")
    assert caught.value.guardrail_result.agent_output == "bad output"


async def test_a_guardrail_that_raises_fails_the_run_with_its_error(server: OpenAICompatServer) -> None:
    @input_guardrail(run_in_parallel=False)
    def broken(ctx: Any, agent: Agent[Any], value: Any) -> GuardrailFunctionOutput:
        raise ValueError("guardrail bug")

    agent = Agent(name="A", model=make_model(ours(), "responses", server), input_guardrails=[broken])
    events, error = await collect_until_error(Runner.run_streamed(agent, "hi"))
    assert isinstance(error, ValueError) and events == [("agent", "A")]


async def test_a_guardrail_must_return_guardrail_function_output(server: OpenAICompatServer) -> None:
    @output_guardrail
    def sloppy(ctx: Any, agent: Agent[Any], value: Any) -> Any:
        return True

    server.add(Reply.text("hi"))
    agent = Agent(name="A", model=make_model(ours(), "responses", server), output_guardrails=[sloppy])
    with pytest.raises(UserError, match="'sloppy' returned bool.*GuardrailFunctionOutput"):
        await Runner.run(agent, "hi")


def test_guardrail_forms_and_bad_configuration() -> None:
    def check(ctx: Any, agent: Any, value: Any) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(output_info=None, tripwire_triggered=False)

    plain = input_guardrail(check)
    assert isinstance(plain, InputGuardrail) and plain.get_name() == "check" and plain.run_in_parallel
    named = input_guardrail(name="n", run_in_parallel=False)(check)
    assert named.get_name() == "n" and not named.run_in_parallel
    assert InputGuardrail(guardrail_function=check).get_name() == "check"
    assert output_guardrail(check).get_name() == "check"
    with pytest.raises(UserError, match="input_guardrails must hold InputGuardrail.*@input_guardrail"):
        Agent(name="A", input_guardrails=[check])  # type: ignore[list-item]
    with pytest.raises(UserError, match="output_guardrails must hold OutputGuardrail"):
        Agent(name="A", output_guardrails=[plain])  # type: ignore[list-item]


async def test_cancel_while_a_parallel_guardrail_runs_leaves_nothing_behind(server: OpenAICompatServer) -> None:
    started = asyncio.Event()
    cancelled: list[bool] = []

    @input_guardrail
    async def slow(ctx: Any, agent: Agent[Any], value: Any) -> GuardrailFunctionOutput:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return GuardrailFunctionOutput(output_info=None, tripwire_triggered=False)

    server.add(Reply.text("slow answer", ttft=30.0))
    agent = Agent(name="A", model=make_model(ours(), "responses", server), input_guardrails=[slow])
    result = Runner.run_streamed(agent, "hi")
    await asyncio.wait_for(started.wait(), 10)
    result.cancel()
    events = await collect(result)
    assert events == [] or events[0] == ("agent", "A")
    assert cancelled == [True] and result.input_guardrail_results == []
    assert result.run_loop_task is not None
    await asyncio.wait_for(asyncio.wait([result.run_loop_task]), 10)
    assert not pending_tasks()
