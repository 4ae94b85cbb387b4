"""Run-loop behaviour checked against the real ``openai-agents==0.24.0`` (issue 16, differences 1-3, 6, 10).

Each test plays the same replies through the SDK and through otelagents over real HTTP
(``tests/sdk_parity.py``) and asserts both sides agree, and what the SDK's behaviour is.
"""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

import pytest

from otelagents.testing.server import Reply

from .sdk_parity import both, error_name, items_only, no_trace, signature

TOOL_TURN = Reply.tool_calls([("add", {"a": 2, "b": 3})])


def _calculator(lib: ModuleType, model: Any) -> Any:
    @lib.function_tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    return lib.Agent(name="calc", instructions="Add.", model=model, tools=[add])


# --- 1. cancel(mode="after_turn") ----------------------------------------------------------------


def _cancel_after_turn_at(item_type: str, *, pause: float) -> Any:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        result = lib.Runner.run_streamed(_calculator(lib, model), "2+3?", run_config=no_trace(lib))
        seen = []
        async for event in result.stream_events():
            seen.append(signature(event))
            if signature(event)[-1] == item_type:
                await asyncio.sleep(pause)  # the consumer is busy with the event, then cancels
                result.cancel(mode="after_turn")
        return items_only(seen), result.final_output, result.current_turn, result.is_complete

    return scenario


@pytest.mark.parametrize("pause", [0.0, 0.3])
async def test_after_turn_cancel_on_the_last_event_of_a_turn_starts_no_further_turn(pause: float) -> None:
    sdk, ours = await both(
        _cancel_after_turn_at("tool_call_output_item", pause=pause), [TOOL_TURN, TOOL_TURN, Reply.text("5")]
    )
    assert ours.value == sdk.value
    assert ours.value == (
        [("agent", "calc"), ("item", "tool_called", "tool_call_item"),
         ("item", "tool_output", "tool_call_output_item")],
        None, 1, True,
    )
    assert len(ours.requests) == len(sdk.requests) == 1


async def test_after_turn_cancel_mid_turn_finishes_the_turn_tools_included() -> None:
    sdk, ours = await both(_cancel_after_turn_at("tool_call_item", pause=0.1), [TOOL_TURN, Reply.text("5")])
    assert ours.value == sdk.value
    assert ours.value[0][-1] == ("item", "tool_output", "tool_call_output_item")
    assert len(ours.requests) == 1


async def test_after_turn_cancel_before_iterating_runs_no_turn() -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        result = lib.Runner.run_streamed(_calculator(lib, model), "2+3?", run_config=no_trace(lib))
        result.cancel(mode="after_turn")
        seen = [signature(e) async for e in result.stream_events()]
        return seen, result.final_output, result.current_turn

    sdk, ours = await both(scenario, [TOOL_TURN, Reply.text("5")])
    assert ours.value == sdk.value == ([("agent", "calc")], None, 0)
    assert ours.requests == sdk.requests == []


# --- 2. a handoff's input_filter ----------------------------------------------------------------


def _drop_everything(data: Any) -> Any:
    return data.clone(input_history=(), pre_handoff_items=(), new_items=())


def _drop_new_items(data: Any) -> Any:
    return data.clone(new_items=())


def _keep(data: Any) -> Any:
    return data


def _only_input_items(data: Any) -> Any:
    # input_items: what the next agent sees; new_items still go to the result
    return data.clone(input_items=())


def _handoff_with(filter_: Any, *, on_run_config: bool = False) -> Any:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        target = lib.Agent(name="B", instructions="b", model=model)
        if on_run_config:
            config = no_trace(lib, handoff_input_filter=filter_)
            start = lib.Agent(name="A", instructions="a", model=model, handoffs=[target])
        else:
            config = no_trace(lib)
            routed = lib.handoff(target, input_filter=filter_)
            start = lib.Agent(name="A", instructions="a", model=model, handoffs=[routed])
        result = lib.Runner.run_streamed(start, "hi", run_config=config)
        seen = [signature(e) async for e in result.stream_events()]
        return (items_only(seen), result.input, [i.type for i in result.new_items], result.to_input_list(),
                result.final_output)

    return scenario


@pytest.mark.parametrize("filter_", [_drop_everything, _drop_new_items, _keep, _only_input_items])
@pytest.mark.parametrize("on_run_config", [False, True])
async def test_handoff_input_filter_shapes_the_next_agents_input_the_result_and_the_events(
    filter_: Any, on_run_config: bool
) -> None:
    sdk, ours = await both(
        _handoff_with(filter_, on_run_config=on_run_config), [Reply.handoff("transfer_to_b"), Reply.text("done")]
    )
    assert ours.value == sdk.value
    assert ours.requests[1]["input"] == sdk.requests[1]["input"]
    assert ours.value[-1] == "done"


async def test_handoff_input_filter_that_drops_everything() -> None:
    sdk, ours = await both(_handoff_with(_drop_everything), [Reply.handoff("transfer_to_b"), Reply.text("done")])
    events, run_input, new_items, _, _ = ours.value
    assert ("item", "handoff_occured", "handoff_output_item") not in events  # filtered out, as in the SDK
    assert run_input == [] and new_items == ["message_output_item"]
    assert ours.requests[1]["input"] == sdk.requests[1]["input"] == []


async def test_handoff_input_filter_must_return_handoff_input_data() -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        target = lib.Agent(name="B", instructions="b", model=model)
        start = lib.Agent(name="A", model=model, handoffs=[lib.handoff(target, input_filter=lambda data: None)])
        try:
            await lib.Runner.run(start, "hi", run_config=no_trace(lib))
        except Exception as exc:  # noqa: BLE001 - compared by name
            return error_name(exc), str(exc).split(":")[0]
        return None

    sdk, ours = await both(scenario, [Reply.handoff("transfer_to_b"), Reply.text("done")])
    assert ours.value == sdk.value == ("UserError", "Invalid input filter result")


# --- 8. nest_handoff_history ----------------------------------------------------------------------


def _nested(*, on_run: bool | None, on_handoff: bool | None = None, chain: bool = False, mapper: bool = False) -> Any:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        @lib.function_tool
        def ping() -> str:
            """Ping."""
            return "pong"

        last = lib.Agent(name="C", instructions="c", model=model)
        middle = lib.Agent(name="B", instructions="b", model=model, handoffs=[last] if chain else [])
        routed = lib.handoff(middle, nest_handoff_history=on_handoff)
        start = lib.Agent(name="A", instructions="a", model=model, tools=[ping], handoffs=[routed])
        config: dict[str, Any] = {}
        if on_run is not None:
            config["nest_handoff_history"] = on_run
        if mapper:
            config["handoff_history_mapper"] = lambda transcript: [
                {"role": "user", "content": f"{len(transcript)} earlier items"}]
        history = [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "noted\ntwice"},
                   {"role": "user", "content": "go"}]
        result = lib.Runner.run_streamed(start, history, run_config=no_trace(lib, **config))
        events = [signature(e) async for e in result.stream_events()]
        return (items_only(events), result.final_output, result.input, [i.type for i in result.new_items],
                result.to_input_list())

    return scenario


@pytest.mark.parametrize(("on_run", "on_handoff", "mapper"), [
    (True, None, False), (None, True, False), (True, False, False), (True, None, True),
])
async def test_nest_handoff_history_summarizes_the_conversation_as_the_sdk_does(
    on_run: bool | None, on_handoff: bool | None, mapper: bool
) -> None:
    replies = [Reply.tool_calls([("ping", {}, "c1")]), Reply.handoff("transfer_to_b"), Reply.text("done")]
    sdk, ours = await both(_nested(on_run=on_run, on_handoff=on_handoff, mapper=mapper), replies)
    assert ours.value == sdk.value
    assert [r["input"] for r in ours.requests] == [r["input"] for r in sdk.requests]
    nested = on_handoff if on_handoff is not None else on_run
    last_input = ours.requests[-1]["input"]
    if nested and not mapper:
        assert last_input[0]["role"] == "assistant" and "<CONVERSATION HISTORY>" in last_input[0]["content"]
    elif mapper:
        assert last_input == [{"role": "user", "content": "7 earlier items"}]
    else:
        assert len(last_input) == 7  # the whole history, as without nesting


async def test_a_second_handoff_unpacks_the_first_summary_instead_of_nesting_it() -> None:
    replies = [Reply.handoff("transfer_to_b"), Reply.handoff("transfer_to_c"), Reply.text("done")]
    sdk, ours = await both(_nested(on_run=True, chain=True), replies)
    assert ours.value == sdk.value
    assert [r["input"] for r in ours.requests] == [r["input"] for r in sdk.requests]
    summary = ours.requests[-1]["input"][0]["content"]
    assert summary.count("<CONVERSATION HISTORY>") == 1 and "earlier" in summary


@pytest.mark.parametrize("history", [
    "just a string",
    [{"role": "user", "content": "multi\nline"}, {"type": "function_call", "name": "f", "call_id": "c",
                                                  "arguments": "{}"},
     {"type": "function_call_output", "call_id": "c", "output": "x"}, {"role": "developer", "name": "ops",
                                                                       "content": "note"}],
    [{"role": "assistant", "content": "For context, here is the conversation so far:\n<CONVERSATION HISTORY>\n"
                                      "1. user: hi\n2. assistant\n3. function_call: {\"name\": \"f\"}\n"
                                      "continued line\n</CONVERSATION HISTORY>"}],
    [],
])
@pytest.mark.parametrize("wrappers", [None, ("<H>", "</H>")])
def test_nest_handoff_history_function_and_wrappers_match_the_sdk(history: Any, wrappers: Any) -> None:
    import agents

    import otelagents

    outputs = []
    for lib in (agents, otelagents):
        if wrappers is not None:
            lib.set_conversation_history_wrappers(start=wrappers[0], end=wrappers[1])
        try:
            data = lib.HandoffInputData(input_history=history if isinstance(history, str) else tuple(history),
                                        pre_handoff_items=(), new_items=())
            nested = lib.nest_handoff_history(data)
            outputs.append((list(nested.input_history), nested.pre_handoff_items, nested.input_items,
                            lib.get_conversation_history_wrappers()))
        finally:
            lib.reset_conversation_history_wrappers()
    assert outputs[0] == outputs[1]
    assert otelagents.get_conversation_history_wrappers() == ("<CONVERSATION HISTORY>", "</CONVERSATION HISTORY>")
