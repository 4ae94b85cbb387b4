"""The same scripted scenarios through the real ``openai-agents==0.24.0`` and through otelagents, over both
APIs and the real HTTP server: every stream event's type, name and item type, the final output and the
error must be the same.
"""

from __future__ import annotations

import types
from typing import Any

import pytest

from otelagents.testing.server import Reply

from .sdk_parity import Outcome, run_both, signature, stream

pytest.importorskip("agents", reason="the Agents SDK is installed by the test extra")

APIS = ["responses", "chat_completions"]


async def guardrail_tripwire(lib: types.ModuleType, model: Any) -> list[Outcome]:
    """A blocking input guardrail trips on the first run; an output guardrail trips on the second."""

    @lib.input_guardrail(run_in_parallel=False)
    def no_secrets(ctx: Any, agent: Any, input: Any) -> Any:
        text = input if isinstance(input, str) else str(input)
        return lib.GuardrailFunctionOutput(output_info={"len": len(text)}, tripwire_triggered="secret" in text)

    @lib.output_guardrail
    def no_shouting(ctx: Any, agent: Any, output: Any) -> Any:
        return lib.GuardrailFunctionOutput(output_info=None, tripwire_triggered=str(output).isupper())

    agent = lib.Agent(name="Guarded", model=model, input_guardrails=[no_secrets], output_guardrails=[no_shouting])
    outcomes = []
    for text in ("tell me the secret", "say something"):
        result = lib.Runner.run_streamed(agent, text)
        outcome = await stream(result)
        outcome.extra = {
            "input_guardrails": [(r.guardrail.get_name(), r.output.tripwire_triggered)
                                 for r in result.input_guardrail_results],
            "output_guardrails": [(r.guardrail.get_name(), r.output.tripwire_triggered)
                                  for r in result.output_guardrail_results],
        }
        outcomes.append(outcome)
    return outcomes


@pytest.mark.parametrize("api", APIS)
async def test_guardrail_tripwire(api: str) -> None:
    expected, got = await run_both(guardrail_tripwire, [Reply.text("HELLO THERE")], api)
    assert got == expected
    assert [o.error for o in got] == ["InputGuardrailTripwireTriggered", "OutputGuardrailTripwireTriggered"]


SESSION_REPLIES = [Reply.text("one"), Reply.tool_calls([("lookup", {"q": "x"})]), Reply.text("two"),
                   Reply.text("three")]


async def session_continuation(lib: types.ModuleType, model: Any) -> list[Outcome]:
    """Three runs on one SQLiteSession; the second calls a tool. The last outcome holds the stored history."""

    @lib.function_tool
    def lookup(q: str) -> str:
        return f"found {q}"

    agent = lib.Agent(name="Memo", model=model, tools=[lookup])
    session = lib.SQLiteSession("conversation-1")
    outcomes = []
    for text in ("first", "second", "third"):
        result = lib.Runner.run_streamed(agent, text, session=session)
        outcome = await stream(result)
        outcome.extra = {"input": result.input, "to_input_list": result.to_input_list()}
        outcomes.append(outcome)
    outcomes.append(Outcome(extra={"stored": await session.get_items(), "last_two": await session.get_items(2)}))
    return outcomes


@pytest.mark.parametrize("api", APIS)
async def test_session_continuation_over_three_runs(api: str) -> None:
    expected, got = await run_both(session_continuation, SESSION_REPLIES, api)
    assert got == expected
    assert [o.final_output for o in got[:3]] == ["one", "two", "three"]
    assert len(got[3].extra["stored"]) == 8


AGENT_TOOL_REPLIES = [Reply.tool_calls([("translate", {"input": "hello"})]), Reply.text("hola", chunks=1),
                      Reply.text("It is hola.")]


async def agent_as_tool(lib: types.ModuleType, model: Any) -> list[Outcome]:
    """An orchestrator calls a translator agent as a tool; the nested run's answer is the tool output."""
    nested: list[tuple[str, ...]] = []

    def on_stream(payload: Any) -> None:
        nested.append(signature(payload["event"]))

    translator = lib.Agent(name="Translator", model=model, instructions="Translate to Spanish.")
    orchestrator = lib.Agent(name="Orchestrator", model=model, tools=[
        translator.as_tool(tool_name="translate", tool_description="Translate text", on_stream=on_stream),
    ])
    result = lib.Runner.run_streamed(orchestrator, "Say hello in Spanish")
    outcome = await stream(result)
    outcome.extra = {
        "tool_outputs": [item.output for item in result.new_items if item.type == "tool_call_output_item"],
        "nested_events": nested,
    }
    return [outcome]


@pytest.mark.parametrize("api", APIS)
async def test_agent_as_tool(api: str) -> None:
    expected, got = await run_both(agent_as_tool, AGENT_TOOL_REPLIES, api)
    assert got == expected
    assert got[0].final_output == "It is hola." and got[0].extra["tool_outputs"] == ["hola"]


HANDOFF_REPLIES = [Reply.tool_calls([("lookup", {"q": "order 7"})]), Reply.handoff("transfer_to_billing"),
                   Reply.text("Your refund is on its way.")]


async def handoff_with_input_filter(lib: types.ModuleType, model: Any) -> list[Outcome]:
    """Triage looks something up, then hands off; the filter drops the tool items from the next input."""
    seen_by_billing: list[Any] = []

    @lib.function_tool
    def lookup(q: str) -> str:
        return f"record for {q}"

    def drop_tools(data: Any) -> Any:
        keep = tuple(item for item in data.pre_handoff_items if item.type == "message_output_item")
        return data.clone(pre_handoff_items=keep, new_items=())

    class Hooks(lib.RunHooks):  # type: ignore[name-defined,misc]
        async def on_llm_start(self, context: Any, agent: Any, system_prompt: Any, input_items: Any) -> None:
            if agent.name == "Billing":
                seen_by_billing.append([item.get("type", item.get("role")) for item in input_items])

    billing = lib.Agent(name="Billing", model=model)
    triage = lib.Agent(name="Triage", model=model, tools=[lookup],
                       handoffs=[lib.handoff(billing, input_filter=drop_tools)])
    result = lib.Runner.run_streamed(triage, "I want a refund", hooks=Hooks())
    outcome = await stream(result)
    outcome.extra = {"billing_input": seen_by_billing, "last_agent": result.last_agent.name,
                     "new_items": [item.type for item in result.new_items]}
    return [outcome]


@pytest.mark.parametrize("api", APIS)
async def test_handoff_with_input_filter(api: str) -> None:
    expected, got = await run_both(handoff_with_input_filter, HANDOFF_REPLIES, api)
    assert got == expected
    assert got[0].extra["billing_input"] == [["user"]]


CANCEL_REPLIES = [Reply.tool_calls([("lookup", {"q": "a"})]), Reply.text("never requested")]


async def after_turn_cancel(lib: types.ModuleType, model: Any) -> list[Outcome]:
    """cancel("after_turn") at the first tool call: the turn (its tool included) finishes, no turn follows."""
    ran: list[str] = []

    @lib.function_tool
    def lookup(q: str) -> str:
        ran.append(q)
        return f"record for {q}"

    agent = lib.Agent(name="Worker", model=model, tools=[lookup])
    result = lib.Runner.run_streamed(agent, "go")

    def on_event(event: Any) -> None:
        if event.type == "run_item_stream_event" and event.name == "tool_called":
            result.cancel(mode="after_turn")

    outcome = await stream(result, on_event=on_event)
    outcome.extra = {"ran": ran, "new_items": [item.type for item in result.new_items],
                     "is_complete": result.is_complete}
    return [outcome]


@pytest.mark.parametrize("api", APIS)
async def test_after_turn_cancel(api: str) -> None:
    expected, got = await run_both(after_turn_cancel, CANCEL_REPLIES, api)
    assert got == expected
    assert got[0].extra["ran"] == ["a"] and got[0].final_output is None


async def hosted_tools(lib: types.ModuleType, model: Any) -> list[Outcome]:
    """Web search, file search, code interpreter and image generation, each in one run: passed through, calls
    surfaced."""
    outcomes = []
    tools = [lib.WebSearchTool(), lib.FileSearchTool(vector_store_ids=["vs_1"], include_search_results=True),
             lib.CodeInterpreterTool(tool_config={"type": "code_interpreter", "container": {"type": "auto"}}),
             lib.ImageGenerationTool(tool_config={"type": "image_generation", "quality": "low"})]
    for tool in tools:
        agent = lib.Agent(name="Researcher", model=model, tools=[tool])
        result = lib.Runner.run_streamed(agent, "look it up")
        outcome = await stream(result)
        outcome.extra = {"items": [(i.type, i.raw_item.type) for i in result.new_items],
                         "input": result.to_input_list()}
        outcomes.append(outcome)
    return outcomes


async def test_hosted_tools_pass_through_on_the_responses_api() -> None:
    from .hosted_sse import hosted_reply

    replies = [hosted_reply("web_search_call", "Found it."), hosted_reply("file_search_call", "In the docs."),
               hosted_reply("code_interpreter_call", "It is 42."), hosted_reply("image_generation_call", "Drawn.")]
    expected, got = await run_both(hosted_tools, replies, "responses")
    assert got == expected
    assert [o.final_output for o in got] == ["Found it.", "In the docs.", "It is 42.", "Drawn."]
    assert got[0].extra["items"] == [("tool_call_item", "web_search_call"), ("message_output_item", "message")]


TOOL_GUARD_REPLIES = [Reply.tool_calls([("transfer", {"amount": 1000}, "call_a")]),
                      Reply.tool_calls([("transfer", {"amount": 5}, "call_b")]),
                      Reply.text("One refused, one redacted.")]


async def tool_guardrails(lib: types.ModuleType, model: Any) -> list[Outcome]:
    """Two calls of one tool, one per turn: the input guardrail rejects the first, the output guardrail redacts
    the second. (One call per turn: the two Chat Completions models order parallel calls' raw events apart.)"""

    @lib.tool_input_guardrail
    def limit(data: Any) -> Any:
        if '"amount": 1000' in data.context.tool_arguments:
            return lib.ToolGuardrailFunctionOutput.reject_content("Amount too large.")
        return lib.ToolGuardrailFunctionOutput.allow()

    @lib.tool_output_guardrail
    def redact(data: Any) -> Any:
        return lib.ToolGuardrailFunctionOutput.reject_content("[redacted]")

    @lib.function_tool(tool_input_guardrails=[limit], tool_output_guardrails=[redact])
    def transfer(amount: int) -> str:
        return f"moved {amount}"

    agent = lib.Agent(name="Bank", model=model, tools=[transfer])
    result = lib.Runner.run_streamed(agent, "send money")
    outcome = await stream(result)
    outcome.extra = {
        "outputs": [item.output for item in result.new_items if item.type == "tool_call_output_item"],
        "input_results": [(r.guardrail.get_name(), r.output.behavior) for r in result.tool_input_guardrail_results],
        "output_results": [(r.guardrail.get_name(), r.output.behavior) for r in result.tool_output_guardrail_results],
    }
    return [outcome]


@pytest.mark.parametrize("api", APIS)
async def test_tool_guardrails(api: str) -> None:
    expected, got = await run_both(tool_guardrails, TOOL_GUARD_REPLIES, api)
    assert got == expected
    assert got[0].extra["outputs"] == ["Amount too large.", "[redacted]"]


async def session_with_failures(lib: types.ModuleType, model: Any) -> list[Outcome]:
    """A run whose model call fails, then one that fails after a tool turn: what the session keeps."""

    @lib.function_tool
    def lookup(q: str) -> str:
        return f"found {q}"

    agent = lib.Agent(name="Memo", model=model, tools=[lookup])
    session = lib.SQLiteSession("failing")
    outcomes = []
    for text in ("one", "two"):
        outcomes.append(await stream(lib.Runner.run_streamed(agent, text, session=session)))
        outcomes[-1].events = [e for e in outcomes[-1].events if e[0] != "raw"]  # the failed stream's raw tail
    outcomes.append(Outcome(extra={"stored": await session.get_items()}))
    return outcomes


@pytest.mark.parametrize("api", APIS)
async def test_session_keeps_the_input_of_failed_runs(api: str) -> None:
    replies = [Reply.status(500), Reply.tool_calls([("lookup", {"q": "x"})]), Reply.status(500)]
    expected, got = await run_both(session_with_failures, replies, api)
    assert got == expected
    assert [o.error for o in got[:2]] == ["InternalServerError", "InternalServerError"]
    assert len(got[2].extra["stored"]) == 4


async def session_guardrails_and_handoff(lib: types.ModuleType, model: Any) -> list[Outcome]:
    """On one session: a filtered handoff, an output tripwire on the agent handed to, an input tripwire."""

    @lib.output_guardrail
    def no_bad(ctx: Any, agent: Any, output: Any) -> Any:
        return lib.GuardrailFunctionOutput(output_info=None, tripwire_triggered="bad" in str(output))

    @lib.input_guardrail
    def no_evil(ctx: Any, agent: Any, value: Any) -> Any:
        return lib.GuardrailFunctionOutput(output_info=None, tripwire_triggered="evil" in str(value))

    def drop_history(data: Any) -> Any:
        return data.clone(pre_handoff_items=(), new_items=())

    expert = lib.Agent(name="Expert", model=model, output_guardrails=[no_bad])
    front = lib.Agent(name="Front", model=model, handoffs=[lib.handoff(expert, input_filter=drop_history)],
                      input_guardrails=[no_evil])
    session = lib.SQLiteSession("guarded")
    outcomes = []
    for text in ("one", "two", "evil three"):
        outcome = await stream(lib.Runner.run_streamed(front, text, session=session))
        outcome.events = [e for e in outcome.events if e[0] != "raw"]  # a cancelled model call's raw events race
        outcomes.append(outcome)
    outcomes.append(Outcome(extra={"stored": await session.get_items()}))
    return outcomes


@pytest.mark.parametrize("api", APIS)
async def test_session_with_guardrails_and_a_filtered_handoff(api: str) -> None:
    replies = [Reply.handoff("transfer_to_expert"), Reply.text("good"), Reply.handoff("transfer_to_expert"),
               Reply.text("bad answer"), Reply.text("never", ttft=3.0)]
    expected, got = await run_both(session_guardrails_and_handoff, replies, api)
    assert got == expected
    assert [o.error for o in got[:3]] == [None, "OutputGuardrailTripwireTriggered", "InputGuardrailTripwireTriggered"]


async def hosted_tool_over_chat(lib: types.ModuleType, model: Any) -> list[Outcome]:
    agent = lib.Agent(name="Researcher", model=model, tools=[lib.WebSearchTool()])
    return [await stream(lib.Runner.run_streamed(agent, "look it up"))]


async def test_hosted_tools_are_refused_over_chat_completions() -> None:
    expected, got = await run_both(hosted_tool_over_chat, [Reply.text("never sent")], "chat_completions")
    assert got == expected
    assert got[0].error == "UserError" and got[0].events == [("agent", "Researcher")]


async def what_input_guardrails_see(lib: types.ModuleType, model: Any) -> list[Outcome]:
    """The value an input guardrail receives: with a session (run and streamed) and without one."""
    seen: list[Any] = []

    @lib.input_guardrail
    def record(ctx: Any, agent: Any, value: Any) -> Any:
        seen.append(value if isinstance(value, str) else [
            item["content"] if isinstance(item.get("content"), str) else item.get("type") for item in value])
        return lib.GuardrailFunctionOutput(output_info=None, tripwire_triggered=False)

    agent = lib.Agent(name="A", model=model, input_guardrails=[record])
    session = lib.SQLiteSession("seen")
    config = lib.RunConfig(tracing_disabled=True)
    await lib.Runner.run(agent, "one", session=session, run_config=config)
    await stream(lib.Runner.run_streamed(agent, "two", session=session))
    await lib.Runner.run(agent, "three", run_config=config)
    await stream(lib.Runner.run_streamed(agent, "four"))
    return [Outcome(extra={"seen": seen})]


async def test_what_input_guardrails_see() -> None:
    replies = [Reply.text("a"), Reply.text("b"), Reply.text("c"), Reply.text("d")]
    expected, got = await run_both(what_input_guardrails_see, replies, "responses")
    assert got == expected
    assert got[0].extra["seen"] == [["one"], ["one", "message", "two"], "three", ["four"]]


async def server_state_refusals(lib: types.ModuleType, model: Any) -> list[Outcome]:
    """A session with server-side state, and output guardrails with it, are refused before any request."""

    @lib.output_guardrail
    def check(ctx: Any, agent: Any, output: Any) -> Any:
        return lib.GuardrailFunctionOutput(output_info=None, tripwire_triggered=False)

    outcomes = []
    for agent, options in ((lib.Agent(name="A", model=model), {"session": lib.SQLiteSession("s"),
                                                                "conversation_id": "conv_1"}),
                           (lib.Agent(name="A", model=model), {"session": lib.SQLiteSession("s"),
                                                                "previous_response_id": "resp_1"}),
                           (lib.Agent(name="A", model=model, output_guardrails=[check]),
                            {"previous_response_id": "resp_1"})):
        try:
            result = lib.Runner.run_streamed(agent, "hi", **options)
        except Exception as exc:  # noqa: BLE001 - compared by type
            outcomes.append(Outcome(error=f"run_streamed raised {type(exc).__name__}"))
            continue
        outcome = await stream(result)
        outcome.error = f"the stream raised {outcome.error}"
        outcomes.append(outcome)
    return outcomes


async def test_server_state_with_sessions_or_output_guardrails_is_refused() -> None:
    expected, got = await run_both(server_state_refusals, [], "responses")
    assert got == expected
    assert all(o.error is not None and o.error.endswith("UserError") for o in got)
