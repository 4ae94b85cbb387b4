"""Tool input/output guardrails over both APIs and the real HTTP server: allow, reject (the run goes on with a
message in place of the call or its output) and raise (the run stops), results on the result, spans."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from otelagents import (
    Agent,
    RunHooks,
    Runner,
    ToolGuardrailFunctionOutput,
    ToolInputGuardrailData,
    ToolInputGuardrailTripwireTriggered,
    ToolOutputGuardrailData,
    ToolOutputGuardrailTripwireTriggered,
    UserError,
    function_tool,
    tool_input_guardrail,
    tool_output_guardrail,
)
from otelagents.telemetry import semconv as sc
from otelagents.testing.server import OpenAICompatServer, Reply
from tests.telemetry_helpers import make_rig

from .runner_helpers import collect, collect_until_error
from .sdk_parity import make_model, ours

APIS = ["responses", "chat_completions"]
ITEMS = [("agent", "A"), ("item", "tool_called", "tool_call_item"), ("item", "tool_output", "tool_call_output_item"),
         ("item", "message_output_created", "message_output_item")]


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer() as srv:
        yield srv


class Recorder(RunHooks[Any]):
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def on_tool_start(self, context: Any, agent: Any, tool: Any) -> None:
        self.seen.append("start")

    async def on_tool_end(self, context: Any, agent: Any, tool: Any, result: Any) -> None:
        self.seen.append(f"end:{result}")


def make_tool(ran: list[str], **guardrails: Any) -> Any:
    @function_tool(**guardrails)
    def transfer(amount: int) -> str:
        """Move money."""
        ran.append(f"transfer {amount}")
        return f"moved {amount}"

    return transfer


def sent_output(server: OpenAICompatServer, api: str) -> Any:
    body = server.requests[1].body
    if api == "responses":
        return [i["output"] for i in body["input"] if i.get("type") == "function_call_output"]
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


@pytest.mark.parametrize("api", APIS)
async def test_an_input_rejection_skips_the_tool_and_tells_the_model(api: str, server: OpenAICompatServer) -> None:
    ran: list[str] = []
    seen: list[tuple[str, str, Any]] = []

    @tool_input_guardrail
    def limit(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        seen.append((data.context.tool_name, data.context.tool_arguments, data.agent.name))
        if '"amount": 1000' in data.context.tool_arguments:
            return ToolGuardrailFunctionOutput.reject_content("Amount too large.", output_info="big")
        return ToolGuardrailFunctionOutput.allow()

    server.add(Reply.tool_calls([("transfer", {"amount": 1000})]), Reply.text("Sorry, too large."))
    tool = make_tool(ran, tool_input_guardrails=[limit])
    agent = Agent(name="A", model=make_model(ours(), api, server), tools=[tool])
    hooks = Recorder()
    result = Runner.run_streamed(agent, "send 1000", hooks=hooks)
    events = await collect(result)
    assert [e for e in events if e[0] != "raw"] == ITEMS
    assert ran == [] and hooks.seen == []
    assert seen == [("transfer", '{"amount": 1000}', "A")]
    assert [i.output for i in result.new_items if i.type == "tool_call_output_item"] == ["Amount too large."]
    assert sent_output(server, api) == ["Amount too large."]
    [checked] = result.tool_input_guardrail_results
    assert checked.guardrail is limit and checked.output.output_info == "big"
    assert result.final_output == "Sorry, too large."


@pytest.mark.parametrize("api", APIS)
async def test_an_output_rejection_replaces_what_the_model_sees(api: str, server: OpenAICompatServer) -> None:
    ran: list[str] = []

    @tool_output_guardrail(name="redact")
    async def redact(data: ToolOutputGuardrailData) -> ToolGuardrailFunctionOutput:
        if "moved" in str(data.output):
            return ToolGuardrailFunctionOutput.reject_content("[redacted]")
        return ToolGuardrailFunctionOutput.allow()

    allow_all = tool_output_guardrail(lambda data: ToolGuardrailFunctionOutput.allow("fine"))
    server.add(Reply.tool_calls([("transfer", {"amount": 5})]), Reply.text("Done."))
    agent = Agent(name="A", model=make_model(ours(), api, server),
                  tools=[make_tool(ran, tool_output_guardrails=[allow_all, redact])])
    hooks = Recorder()
    result = await Runner.run(agent, "send 5", hooks=hooks)
    assert ran == ["transfer 5"] and hooks.seen == ["start", "end:[redacted]"]
    assert sent_output(server, api) == ["[redacted]"]
    assert [(r.guardrail.get_name(), r.output.behavior["type"]) for r in result.tool_output_guardrail_results] == [
        ("<lambda>", "allow"), ("redact", "reject_content")]


@pytest.mark.parametrize("where", ["input", "output"])
async def test_raise_exception_stops_the_run(where: str, server: OpenAICompatServer) -> None:
    ran: list[str] = []
    stop = ToolGuardrailFunctionOutput.raise_exception(output_info="no")
    guard = (tool_input_guardrail if where == "input" else tool_output_guardrail)(lambda data: stop)
    key = "tool_input_guardrails" if where == "input" else "tool_output_guardrails"
    server.add(Reply.tool_calls([("transfer", {"amount": 5})]))
    agent = Agent(name="A", model=make_model(ours(), "responses", server), tools=[make_tool(ran, **{key: [guard]})])
    events, error = await collect_until_error(Runner.run_streamed(agent, "go"))
    expected = ToolInputGuardrailTripwireTriggered if where == "input" else ToolOutputGuardrailTripwireTriggered
    assert isinstance(error, expected) and error.guardrail is guard and error.output is stop
    assert [e for e in events if e[0] != "raw"] == ITEMS[:2]
    assert ran == ([] if where == "input" else ["transfer 5"]) and len(server.requests) == 1


async def test_a_verdict_must_be_a_tool_guardrail_function_output(server: OpenAICompatServer) -> None:
    server.add(Reply.tool_calls([("transfer", {"amount": 5})]))
    bad = tool_input_guardrail(name="bad")(lambda data: True)
    model = make_model(ours(), "responses", server)
    agent = Agent(name="A", model=model, tools=[make_tool([], tool_input_guardrails=[bad])])
    with pytest.raises(UserError, match="Tool guardrail 'bad' returned bool"):
        await Runner.run(agent, "go")
    odd = ToolGuardrailFunctionOutput(output_info=None, behavior={"type": "maybe"})  # type: ignore[typeddict-item]
    server.add(Reply.tool_calls([("transfer", {"amount": 5})]))
    weird = tool_input_guardrail(name="weird")(lambda data: odd)
    agent = Agent(name="A", model=model, tools=[make_tool([], tool_input_guardrails=[weird])])
    with pytest.raises(UserError, match="unknown behavior"):
        await Runner.run(agent, "go")


async def test_tool_guardrails_are_spans_with_the_tool_name(server: OpenAICompatServer) -> None:
    rig = make_rig()
    reject = tool_input_guardrail(name="limit")(lambda data: ToolGuardrailFunctionOutput.reject_content("no"))
    server.add(Reply.tool_calls([("transfer", {"amount": 5})]), Reply.text("ok"))
    agent = Agent(name="A", model=make_model(ours(), "responses", server),
                  tools=[make_tool([], tool_input_guardrails=[reject])])
    await Runner.run(agent, "go", run_config=rig.config())
    span = rig.span("run_guardrail limit")
    attrs = span.attributes or {}
    assert attrs[sc.GEN_AI_TOOL_NAME] == "transfer" and attrs[sc.OTELAGENTS_GUARDRAIL_KIND] == "tool_input"
    assert attrs[sc.OTELAGENTS_GUARDRAIL_TRIGGERED] is True
