"""Server-side conversation state on the Responses API (issue 16, difference 8): ``previous_response_id``,
``auto_previous_response_id`` and ``conversation_id`` send what the real ``openai-agents==0.24.0`` sends."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from otelagents.testing.server import Reply

from .sdk_parity import both, error_name, items_only, no_trace, signature

MODES = [
    {"previous_response_id": "resp_earlier"},
    {"auto_previous_response_id": True},
    {"conversation_id": "conv_1"},
    {"conversation_id": "conv_1", "previous_response_id": "resp_earlier"},
]
IDS = ["previous_response_id", "auto", "conversation_id", "both"]
WIRE = ("previous_response_id", "conversation", "input")


def _scenario(mode: dict[str, Any], streamed: bool) -> Any:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        @lib.function_tool
        def ping() -> str:
            """Ping."""
            return "pong"

        helper = lib.Agent(name="helper", instructions="Help.", model=model)
        agent = lib.Agent(name="a", instructions="Main.", model=model, tools=[ping], handoffs=[helper])
        if streamed:
            result = lib.Runner.run_streamed(agent, "hi", run_config=no_trace(lib), **mode)
            events = [signature(e) async for e in result.stream_events()]
        else:
            result = await lib.Runner.run(agent, "hi", run_config=no_trace(lib), **mode)
            events = []
        return (items_only(events), result.final_output, result.last_response_id,
                [i.type for i in result.new_items], result.to_input_list())

    return scenario


REPLIES = [Reply.tool_calls([("ping", {}, "c1")]), Reply.handoff("transfer_to_helper"), Reply.text("done")]


@pytest.mark.parametrize("streamed", [True, False])
@pytest.mark.parametrize("mode", MODES, ids=IDS)
async def test_each_call_sends_only_what_the_server_has_not_seen(mode: dict[str, Any], streamed: bool) -> None:
    sdk, ours = await both(_scenario(mode, streamed), REPLIES)
    assert ours.value == sdk.value
    assert [{k: r.get(k) for k in WIRE} for r in ours.requests] == [{k: r.get(k) for k in WIRE} for r in sdk.requests]
    second, third = ours.requests[1], ours.requests[2]
    assert [item["type"] for item in second["input"]] == ["function_call_output"]
    assert [item["type"] for item in third["input"]] == ["function_call_output"]  # the handoff's output
    if "conversation_id" in mode:
        assert {r["conversation"] for r in ours.requests} == {"conv_1"}
    else:
        assert [r.get("previous_response_id") for r in ours.requests][1:] == ["resp_000001", "resp_000002"]


async def test_without_server_state_every_call_sends_the_whole_history() -> None:
    sdk, ours = await both(_scenario({}, True), REPLIES)
    assert ours.value == sdk.value
    assert [len(r["input"]) for r in ours.requests] == [len(r["input"]) for r in sdk.requests] == [1, 3, 5]
    assert all("previous_response_id" not in r and "conversation" not in r for r in ours.requests)


async def test_a_handoff_input_filter_is_refused_with_server_state() -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        helper = lib.Agent(name="helper", model=model)
        agent = lib.Agent(name="a", model=model, handoffs=[lib.handoff(helper, input_filter=lambda data: data)])
        try:
            await lib.Runner.run(agent, "hi", run_config=no_trace(lib), conversation_id="conv_1")
        except Exception as exc:  # noqa: BLE001 - compared by name
            return error_name(exc), "handoff input filters" in str(exc)
        return None

    sdk, ours = await both(scenario, [Reply.handoff("transfer_to_helper"), Reply.text("done")])
    assert ours.value == sdk.value == ("UserError", True)
