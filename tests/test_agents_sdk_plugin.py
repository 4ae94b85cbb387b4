"""The Agents SDK plugin on unmodified SDK applications: the real ``openai-agents`` 0.24 SDK, driven over
real HTTP against the project's OpenAI-compatible server, on both APIs. Each scenario asserts the whole
span tree and the metric counts the runner would report."""

from __future__ import annotations

from typing import Any

import pytest
from agents import (
    Agent,
    GuardrailFunctionOutput,
    InputGuardrailTripwireTriggered,
    RunConfig,
    Runner,
    SQLiteSession,
    function_tool,
    input_guardrail,
)
from pydantic import BaseModel

from otelagents.telemetry import semconv as sc
from otelagents.testing.server import Reply
from tests.agents_sdk_helpers import APIS, SDKRig, assert_all_closed, drain, sdk, wait_run_done
from tests.hosted_sse import hosted_items_reply
from tests.telemetry_helpers import bucket_of, counter_value, hist, one_trace, tree

__all__ = ["sdk"]  # the fixture

OK, ERR = "UNSET", "ERROR"


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@function_tool
def get_time(city: str) -> str:
    """The time in a city."""
    return f"noon in {city}"


def chat(children: list[Any] | None = None, status: str = OK, error: Any = None) -> Any:
    return ("chat gpt-4.1", "CLIENT", status, error, children or [])


@pytest.mark.parametrize("api", APIS)
async def test_text(sdk: SDKRig, api: str) -> None:
    sdk.server.add(Reply.text("one two three four five", ttft=0.3))
    agent = Agent(name="Joker", instructions="Be funny.", model=sdk.model(api), handoff_description="Jokes")
    result = Runner.run_streamed(agent, "hi")
    await drain(result)
    await wait_run_done(result)
    rig = sdk.rig
    assert result.final_output == "one two three four five"
    assert tree(rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
        ("invoke_agent Joker", "INTERNAL", OK, None, [chat()])])]
    one_trace(rig.spans())
    attrs = rig.span("chat gpt-4.1").attributes or {}
    assert attrs[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert attrs[sc.OPENAI_API_TYPE] == api
    assert attrs[sc.SERVER_ADDRESS] == "127.0.0.1" and attrs[sc.SERVER_PORT] == sdk.server.port
    assert attrs[sc.GEN_AI_REQUEST_STREAM] is True
    assert attrs[sc.OTELAGENTS_OUTPUT_CHUNKS] == 5
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert (rig.span("invoke_agent Joker").attributes or {})[sc.GEN_AI_AGENT_DESCRIPTION] == "Jokes"
    labels = {sc.GEN_AI_AGENT_NAME: "Joker", sc.GEN_AI_REQUEST_MODEL: "gpt-4.1"}
    assert hist(rig.engine, sc.METRIC_TIME_PER_OUTPUT_CHUNK, labels).count == 4  # chunks - 1
    ttft = hist(rig.engine, sc.METRIC_TIME_TO_FIRST_TOKEN, labels)
    assert ttft.count == 1
    # The server waits 0.3 s before the first delta; the clock starts when the request leaves, so the
    # value is at least the delay (its bucket or a later one on a loaded machine, never an earlier one).
    assert bucket_of(ttft, ttft.sum) >= bucket_of(ttft, 0.3) and ttft.sum >= 0.3
    assert hist(rig.engine, sc.METRIC_OPERATION_DURATION, labels).count == 1
    if api == "responses":  # the SDK asks Chat Completions for usage only with include_usage=True
        assert hist(rig.engine, sc.METRIC_OUTPUT_TOKENS_PER_SECOND, labels).count == 1
        assert hist(rig.engine, sc.METRIC_TOKEN_USAGE, {sc.GEN_AI_TOKEN_TYPE: "output"}).sum == 5
    assert hist(rig.engine, sc.METRIC_INVOKE_WORKFLOW_DURATION).count == 1
    assert "response" in sdk.user_processor.ended or "generation" in sdk.user_processor.ended
    assert_all_closed(rig)


@pytest.mark.parametrize("api", APIS)
async def test_tool_then_answer(sdk: SDKRig, api: str) -> None:
    sdk.server.add(Reply.tool_calls([("get_weather", {"city": "Paris"}, "call_w1")]), Reply.text("Sunny in Paris"))
    agent = Agent(name="Weather", model=sdk.model(api), tools=[get_weather])
    result = Runner.run_streamed(agent, "weather?")
    await drain(result)
    await wait_run_done(result)
    rig = sdk.rig
    assert tree(rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
        ("invoke_agent Weather", "INTERNAL", OK, None, [
            chat(), ("execute_tool get_weather", "INTERNAL", OK, None, []), chat()])])]
    tool = rig.span("execute_tool get_weather").attributes or {}
    assert tool[sc.GEN_AI_TOOL_CALL_ID] == "call_w1"
    assert tool[sc.GEN_AI_TOOL_TYPE] == "function"
    assert tool[sc.GEN_AI_TOOL_DESCRIPTION] == "The weather in a city."
    assert sc.GEN_AI_TOOL_CALL_ARGUMENTS not in tool  # content off by default
    chats = [s for s in rig.spans() if s.name == "chat gpt-4.1"]
    assert [(s.attributes or {})[sc.GEN_AI_RESPONSE_FINISH_REASONS] for s in chats] == [("tool_calls",), ("stop",)]
    assert hist(rig.engine, sc.METRIC_EXECUTE_TOOL_DURATION, {sc.GEN_AI_TOOL_NAME: "get_weather"}).count == 1
    assert hist(rig.engine, sc.METRIC_OPERATION_DURATION).count == 2
    assert_all_closed(rig)


@pytest.mark.parametrize("api", APIS)
async def test_parallel_tools_are_siblings(sdk: SDKRig, api: str) -> None:
    sdk.server.add(Reply.tool_calls([("get_weather", {"city": "Oslo"}), ("get_time", {"city": "Oslo"})]),
                   Reply.text("Cold at noon"))
    agent = Agent(name="Both", model=sdk.model(api), tools=[get_weather, get_time])
    result = Runner.run_streamed(agent, "both?")
    await drain(result)
    await wait_run_done(result)
    [root] = tree(sdk.rig.spans())
    [agent_node] = root[4]
    names = sorted(child[0] for child in agent_node[4])
    assert names == ["chat gpt-4.1", "chat gpt-4.1", "execute_tool get_time", "execute_tool get_weather"]
    assert all(child[4] == [] and child[2] == OK for child in agent_node[4])
    assert_all_closed(sdk.rig)


@pytest.mark.parametrize("api", APIS)
async def test_handoff(sdk: SDKRig, api: str) -> None:
    billing = Agent(name="Billing", handoff_description="Handles invoices", model=sdk.model(api))
    triage = Agent(name="Triage", model=sdk.model(api), handoffs=[billing])
    sdk.server.add(Reply.handoff("transfer_to_billing"), Reply.text("Your invoice is paid"))
    result = Runner.run_streamed(triage, "invoice?")
    await drain(result)
    await wait_run_done(result)
    rig = sdk.rig
    assert result.final_output == "Your invoice is paid"
    assert tree(rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
        ("invoke_agent Triage", "INTERNAL", OK, None, [
            chat(), ("execute_tool transfer_to_billing", "INTERNAL", OK, None, [])]),
        ("invoke_agent Billing", "INTERNAL", OK, None, [chat()])])]
    hand = rig.span("execute_tool transfer_to_billing").attributes or {}
    assert hand[sc.GEN_AI_AGENT_HANDOFF_SOURCE_NAME] == "Triage"
    assert hand[sc.GEN_AI_AGENT_HANDOFF_TARGET_NAME] == "Billing"
    assert str(hand[sc.GEN_AI_TOOL_CALL_ID]).startswith("call_")
    assert "Handles invoices" in str(hand[sc.GEN_AI_TOOL_DESCRIPTION])
    assert (rig.span("invoke_agent Billing").attributes or {})[sc.GEN_AI_AGENT_DESCRIPTION] == "Handles invoices"
    assert counter_value(rig.engine, sc.METRIC_HANDOFFS, {sc.GEN_AI_AGENT_HANDOFF_TARGET_NAME: "Billing"}) == 1
    assert_all_closed(rig)


class Forecast(BaseModel):
    city: str
    celsius: int


@pytest.mark.parametrize("api", APIS)
async def test_structured_output(sdk: SDKRig, api: str) -> None:
    sdk.server.add(Reply.json({"city": "Paris", "celsius": 21}))
    agent = Agent(name="Forecaster", model=sdk.model(api), output_type=Forecast)
    result = Runner.run_streamed(agent, "forecast")
    await drain(result)
    await wait_run_done(result)
    assert result.final_output == Forecast(city="Paris", celsius=21)
    assert tree(sdk.rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
        ("invoke_agent Forecaster", "INTERNAL", OK, None, [chat()])])]
    assert (sdk.rig.span("chat gpt-4.1").attributes or {})[sc.GEN_AI_OUTPUT_TYPE] == "json"
    assert_all_closed(sdk.rig)


@input_guardrail
async def no_math(ctx: Any, agent: Any, input: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info="math", tripwire_triggered="math" in str(input))


@pytest.mark.parametrize("api", APIS)
async def test_input_guardrail_tripwire(sdk: SDKRig, api: str) -> None:
    sdk.server.add(Reply.text("I will not do math", ttft=0.5))
    agent = Agent(name="Tutor", model=sdk.model(api), input_guardrails=[no_math])
    result = Runner.run_streamed(agent, "do my math homework")
    with pytest.raises(InputGuardrailTripwireTriggered):
        await drain(result)
    await wait_run_done(result)
    rig = sdk.rig
    guard = rig.span("run_guardrail no_math")
    attrs = guard.attributes or {}
    assert guard.status.status_code.name == ERR
    assert attrs[sc.ERROR_TYPE] == "InputGuardrailTripwireTriggered"
    assert attrs[sc.OTELAGENTS_GUARDRAIL_KIND] == "input"
    assert attrs[sc.OTELAGENTS_GUARDRAIL_TRIGGERED] is True
    agent_span = rig.span("invoke_agent Tutor")
    assert guard.parent is not None and guard.parent.span_id == agent_span.context.span_id
    root = rig.span("invoke_workflow Agent workflow")
    assert (root.attributes or {})[sc.ERROR_TYPE] == "InputGuardrailTripwireTriggered"
    assert (agent_span.attributes or {})[sc.ERROR_TYPE] == "InputGuardrailTripwireTriggered"
    assert counter_value(rig.engine, sc.METRIC_ERRORS, {sc.GEN_AI_OPERATION_NAME: "run_guardrail"}) == 1
    assert_all_closed(rig)


@pytest.mark.parametrize("api", APIS)
async def test_input_guardrail_that_passes(sdk: SDKRig, api: str) -> None:
    sdk.server.add(Reply.text("Hello"))
    agent = Agent(name="Tutor", model=sdk.model(api), input_guardrails=[no_math])
    result = await Runner.run(agent, "hello")
    assert result.final_output == "Hello"
    [root] = tree(sdk.rig.spans())
    [agent_node] = root[4]
    assert sorted(child[:4] for child in agent_node[4]) == [
        ("chat gpt-4.1", "CLIENT", OK, None), ("run_guardrail no_math", "INTERNAL", OK, None)]
    assert (sdk.rig.span("run_guardrail no_math").attributes or {})[sc.OTELAGENTS_GUARDRAIL_TRIGGERED] is False
    assert_all_closed(sdk.rig)


@pytest.mark.parametrize("api", APIS)
async def test_agent_as_tool_nests_under_execute_tool(sdk: SDKRig, api: str) -> None:
    translator = Agent(name="Translator", model=sdk.model(api))
    boss = Agent(name="Boss", model=sdk.model(api),
                 tools=[translator.as_tool(tool_name="translate", tool_description="Translate text")])
    sdk.server.add(Reply.tool_calls([("translate", {"input": "hello"})]), Reply.text("bonjour"),
                   Reply.text("It is bonjour"))
    result = Runner.run_streamed(boss, "translate hello")
    await drain(result)
    await wait_run_done(result)
    assert tree(sdk.rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
        ("invoke_agent Boss", "INTERNAL", OK, None, [
            chat(),
            ("execute_tool translate", "INTERNAL", OK, None, [
                ("invoke_agent Translator", "INTERNAL", OK, None, [chat()])]),
            chat()])])]
    assert hist(sdk.rig.engine, sc.METRIC_INVOKE_WORKFLOW_DURATION).count == 1
    assert hist(sdk.rig.engine, sc.METRIC_INVOKE_AGENT_DURATION, {sc.GEN_AI_AGENT_NAME: "Translator"}).count == 1
    assert_all_closed(sdk.rig)


@pytest.mark.parametrize("api", APIS)
async def test_session_sets_the_conversation_id(sdk: SDKRig, api: str) -> None:
    session = SQLiteSession("conversation-42")
    agent = Agent(name="Chatty", model=sdk.model(api))
    sdk.server.add(Reply.text("first"), Reply.text("second"))
    for text in ("one", "two"):
        result = Runner.run_streamed(agent, text, session=session)
        await drain(result)
        await wait_run_done(result)
    spans = sdk.rig.spans()
    assert len(spans) == 6
    assert {(s.attributes or {}).get(sc.GEN_AI_CONVERSATION_ID) for s in spans} == {"conversation-42"}
    assert len({s.context.trace_id for s in spans}) == 2
    assert_all_closed(sdk.rig)


@pytest.mark.parametrize("api", APIS)
async def test_model_failure_after_retries(sdk: SDKRig, api: str) -> None:
    sdk.server.add(*[Reply(http_status=500, error_message="boom")] * 3)
    agent = Agent(name="Fails", model=sdk.model(api))
    result = Runner.run_streamed(agent, "hi")
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the openai client's own error class
        await drain(result)
    await wait_run_done(result)
    error = type(raised.value).__qualname__
    assert error == "InternalServerError"
    assert len(sdk.server.requests) == 3  # the client's two retries
    assert tree(sdk.rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", ERR, error, [
        ("invoke_agent Fails", "INTERNAL", ERR, error, [chat(status=ERR, error=error)])])]
    assert hist(sdk.rig.engine, sc.METRIC_OPERATION_DURATION, {sc.ERROR_TYPE: error}).count == 1
    assert counter_value(sdk.rig.engine, sc.METRIC_ERRORS, {sc.GEN_AI_OPERATION_NAME: "chat"}) == 1
    assert points_none(sdk.rig, sc.METRIC_TIME_TO_FIRST_CHUNK)
    # The consumer received the run's error: it did not leave early.
    assert sc.OTELAGENTS_CONSUMER_LEFT not in (sdk.rig.span("invoke_workflow Agent workflow").attributes or {})
    assert_all_closed(sdk.rig)


def points_none(rig: Any, name: str) -> bool:
    return all(not snap.points for snap in rig.engine.collect() if snap.name == name)


@pytest.mark.parametrize("api", APIS)
async def test_non_streamed_run_and_run_sync_share_the_shape(sdk: SDKRig, api: str) -> None:
    sdk.server.add(Reply.tool_calls([("get_weather", {"city": "Rome"})]), Reply.text("Warm"))
    agent = Agent(name="Plain", model=sdk.model(api), tools=[get_weather])
    result = await Runner.run(agent, "weather")
    assert result.final_output == "Warm"
    expected = [("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
        ("invoke_agent Plain", "INTERNAL", OK, None, [
            chat(), ("execute_tool get_weather", "INTERNAL", OK, None, []), chat()])])]
    assert tree(sdk.rig.spans()) == expected
    chats = [s for s in sdk.rig.spans() if s.name == "chat gpt-4.1"]
    assert all(sc.GEN_AI_REQUEST_STREAM not in (s.attributes or {}) for s in chats)  # the SDK does not stream
    assert points_none(sdk.rig, sc.METRIC_TIME_TO_FIRST_CHUNK)
    assert hist(sdk.rig.engine, sc.METRIC_OPERATION_DURATION).count == 2
    assert_all_closed(sdk.rig)


def test_run_sync(sdk: SDKRig) -> None:
    sdk.server.add(Reply.text("Synced"))
    agent = Agent(name="Sync", model=sdk.model("responses"))
    assert Runner.run_sync(agent, "hi").final_output == "Synced"
    assert tree(sdk.rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
        ("invoke_agent Sync", "INTERNAL", OK, None, [chat()])])]
    assert_all_closed(sdk.rig)


async def test_tracing_disabled_for_a_run_is_followed(sdk: SDKRig) -> None:
    sdk.server.add(Reply.text("quiet"), Reply.text("loud"))
    agent = Agent(name="Quiet", model=sdk.model("responses"))
    result = Runner.run_streamed(agent, "hi", run_config=RunConfig(tracing_disabled=True))
    await drain(result)
    await wait_run_done(result)
    assert sdk.rig.spans() == []
    await Runner.run(agent, "hi", run_config=RunConfig(workflow_name="Loud flow", group_id="g-1"))
    root = sdk.rig.span("invoke_workflow Loud flow")
    assert (root.attributes or {})[sc.GEN_AI_CONVERSATION_ID] == "g-1"


@pytest.mark.parametrize("api", APIS)
async def test_mcp_tool_is_an_extension_tool(sdk: SDKRig, api: str) -> None:
    import pathlib
    import sys

    from agents.mcp import MCPServerStdio

    script = pathlib.Path(__file__).with_name("mcp_lookup_server.py")
    sdk.server.add(Reply.tool_calls([("lookup", {"key": "k"}, "call_m1")]), Reply.text("K it is"))
    async with MCPServerStdio(params={"command": sys.executable, "args": [str(script)]}, name="lookup") as mcp:
        agent = Agent(name="Looker", model=sdk.model(api), mcp_servers=[mcp])
        result = Runner.run_streamed(agent, "look k up")
        await drain(result)
        await wait_run_done(result)
    assert result.final_output == "K it is"
    assert tree(sdk.rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
        ("invoke_agent Looker", "INTERNAL", OK, None, [
            chat(), ("execute_tool lookup", "INTERNAL", OK, None, []), chat()])])]
    tool = sdk.rig.span("execute_tool lookup").attributes or {}
    assert tool[sc.GEN_AI_TOOL_TYPE] == "extension"
    assert tool[sc.GEN_AI_TOOL_CALL_ID] == "call_m1"
    assert hist(sdk.rig.engine, sc.METRIC_EXECUTE_TOOL_DURATION, {sc.GEN_AI_TOOL_TYPE: "extension"}).count == 1
    assert_all_closed(sdk.rig)


def _tool_guardrails() -> tuple[Any, Any]:
    from agents import ToolGuardrailFunctionOutput, tool_input_guardrail, tool_output_guardrail

    @tool_input_guardrail
    def no_atlantis(data: Any) -> Any:
        if "Atlantis" in data.context.tool_arguments:
            return ToolGuardrailFunctionOutput.reject_content("No forecasts for Atlantis.")
        return ToolGuardrailFunctionOutput.allow()

    @tool_output_guardrail
    def no_storms(data: Any) -> Any:
        if "storm" in str(data.output):
            return ToolGuardrailFunctionOutput.raise_exception()
        return ToolGuardrailFunctionOutput.allow()

    return no_atlantis, no_storms


@pytest.mark.parametrize("api", APIS)
async def test_tool_guardrails_nest_under_their_tool(sdk: SDKRig, api: str) -> None:
    no_atlantis, no_storms = _tool_guardrails()

    @function_tool(tool_input_guardrails=[no_atlantis], tool_output_guardrails=[no_storms])
    def forecast(city: str) -> str:
        """A forecast."""
        return "storm" if city == "Oslo" else "sun"

    agent = Agent(name="Forecaster", model=sdk.model(api), tools=[forecast])
    sdk.server.add(Reply.tool_calls([("forecast", {"city": "Rome"})]), Reply.text("Sun in Rome"),
                   Reply.tool_calls([("forecast", {"city": "Atlantis"})]), Reply.text("Cannot say"))
    for prompt in ("Rome?", "Atlantis?"):
        result = Runner.run_streamed(agent, prompt)
        await drain(result)
        await wait_run_done(result)
    guards = {(s.name, (s.attributes or {}).get(sc.ERROR_TYPE), (s.attributes or {})[sc.OTELAGENTS_GUARDRAIL_KIND],
               s.parent.span_id if s.parent else None) for s in sdk.rig.spans() if s.name.startswith("run_guardrail")}
    tools = [s for s in sdk.rig.spans() if s.name == "execute_tool forecast"]
    rome, atlantis = sorted(tools, key=lambda s: s.start_time or 0)
    assert guards == {
        ("run_guardrail no_atlantis", None, "tool_input", rome.context.span_id),
        ("run_guardrail no_storms", None, "tool_output", rome.context.span_id),
        ("run_guardrail no_atlantis", "ToolInputGuardrailTripwireTriggered", "tool_input", atlantis.context.span_id),
    }
    assert all((s.attributes or {})[sc.GEN_AI_TOOL_NAME] == "forecast"
               for s in sdk.rig.spans() if s.name.startswith("run_guardrail"))
    assert_all_closed(sdk.rig)


async def test_a_tool_output_guardrail_that_raises_fails_the_run(sdk: SDKRig) -> None:
    from agents.exceptions import ToolOutputGuardrailTripwireTriggered

    _, no_storms = _tool_guardrails()

    @function_tool(tool_output_guardrails=[no_storms])
    def forecast(city: str) -> str:
        """A forecast."""
        return "storm"

    sdk.server.add(Reply.tool_calls([("forecast", {"city": "Oslo"})]), Reply.text("never"))
    result = Runner.run_streamed(Agent(name="Stormy", model=sdk.model("responses"), tools=[forecast]), "Oslo?")
    with pytest.raises(ToolOutputGuardrailTripwireTriggered):
        await drain(result)
    await wait_run_done(result)
    guard = sdk.rig.span("run_guardrail no_storms")
    assert (guard.attributes or {})[sc.ERROR_TYPE] == "ToolOutputGuardrailTripwireTriggered"
    [root] = tree(sdk.rig.spans())
    assert root[2:4] == (ERR, "ToolOutputGuardrailTripwireTriggered")
    assert_all_closed(sdk.rig)


async def test_hosted_tools_are_execute_tool_spans_of_their_type(sdk: SDKRig) -> None:
    sdk.server.add(hosted_items_reply("Found it", [
        {"id": "ws_1", "type": "web_search_call", "action": {"type": "search", "query": "otel"}},
        {"id": "fs_1", "type": "file_search_call", "queries": ["otel"], "status": "failed"},
    ]))
    result = Runner.run_streamed(Agent(name="Searcher", model=sdk.model("responses")), "search")
    await drain(result)
    await wait_run_done(result)
    assert result.final_output == "Found it"
    [root] = tree(sdk.rig.spans())
    [agent_node] = root[4]
    assert sorted(child[:4] for child in agent_node[4]) == [
        ("chat gpt-4.1", "CLIENT", OK, None),
        ("execute_tool file_search", "INTERNAL", ERR, "HostedToolError"),
        ("execute_tool web_search", "INTERNAL", OK, None),
    ]
    web = sdk.rig.span("execute_tool web_search").attributes or {}
    assert web[sc.GEN_AI_TOOL_TYPE] == "extension" and web[sc.GEN_AI_TOOL_CALL_ID] == "ws_1"
    assert (sdk.rig.span("execute_tool file_search").attributes or {})[sc.GEN_AI_TOOL_TYPE] == "datastore"
    assert hist(sdk.rig.engine, sc.METRIC_EXECUTE_TOOL_DURATION, {sc.GEN_AI_TOOL_TYPE: "datastore"}).count == 1
    assert_all_closed(sdk.rig)


async def test_sdk_managed_retries_are_one_chat_span_per_attempt(sdk: SDKRig) -> None:
    from agents import ModelSettings
    from agents.retry import ModelRetrySettings, retry_policies

    sdk.server.add(Reply(http_status=500, error_message="boom"), Reply.text("second time lucky"))
    settings = ModelSettings(retry=ModelRetrySettings(max_retries=2, backoff={"initial_delay": 0.01},
                                                      policy=retry_policies.http_status([500])))
    sdk.client = sdk.client.with_options(max_retries=0)  # the SDK retries, not the openai client
    agent = Agent(name="Retrier", model=sdk.model("responses"), model_settings=settings)
    result = Runner.run_streamed(agent, "hi")
    await drain(result)
    await wait_run_done(result)
    assert result.final_output == "second time lucky" and len(sdk.server.requests) == 2
    assert tree(sdk.rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
        ("invoke_agent Retrier", "INTERNAL", OK, None, [
            chat(status=ERR, error="InternalServerError"), chat()])])]
    assert hist(sdk.rig.engine, sc.METRIC_OPERATION_DURATION, {sc.ERROR_TYPE: "InternalServerError"}).count == 1
    assert hist(sdk.rig.engine, sc.METRIC_TIME_TO_FIRST_TOKEN).count == 1  # only the attempt that streamed
    assert_all_closed(sdk.rig)


@pytest.mark.parametrize("sdk", [{"capture_content": True}], indirect=True)
async def test_content_is_captured_only_when_asked(sdk: SDKRig) -> None:
    sdk.server.add(Reply.tool_calls([("get_weather", {"city": "Paris"})]), Reply.text("Sunny in Paris"))
    agent = Agent(name="Teller", instructions="Be brief.", model=sdk.model("responses"), tools=[get_weather])
    result = Runner.run_streamed(agent, "weather in Paris?")
    await drain(result)
    await wait_run_done(result)
    tool = sdk.rig.span("execute_tool get_weather").attributes or {}
    assert '"Paris"' in str(tool[sc.GEN_AI_TOOL_CALL_ARGUMENTS])
    chats = [s.attributes or {} for s in sdk.rig.spans() if s.name == "chat gpt-4.1"]
    assert "weather in Paris?" in str(chats[0][sc.GEN_AI_INPUT_MESSAGES])
    assert "Be brief." in str(chats[0][sc.GEN_AI_SYSTEM_INSTRUCTIONS])
    assert "Sunny in Paris" in str(chats[1][sc.GEN_AI_OUTPUT_MESSAGES])


@pytest.mark.parametrize("api", APIS)
async def test_the_clock_starts_when_each_request_reaches_the_transport(sdk: SDKRig, api: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from otelagents.telemetry._stream_stats import ModelCallTelemetry

    sent: list[float] = []
    original = ModelCallTelemetry.request_sent

    def counting(self: ModelCallTelemetry) -> None:
        sent.append(0.0)
        original(self)

    monkeypatch.setattr(ModelCallTelemetry, "request_sent", counting)
    sdk.server.add(Reply(http_status=500, error_message="busy"), Reply.text("one two three", ttft=0.2))
    result = Runner.run_streamed(Agent(name="Clock", model=sdk.model(api)), "hi")
    await drain(result)
    await wait_run_done(result)
    assert len(sent) == 2  # the first attempt and the client's retry each reached the transport
    chat_span = sdk.rig.span("chat gpt-4.1")
    attrs = chat_span.attributes or {}
    assert chat_span.start_time is not None and chat_span.end_time is not None
    # Timed from the retry leaving (after the 500 and the client's back-off), not from the call's start.
    assert 0.2 <= attrs[sc.OTELAGENTS_TIME_TO_FIRST_TOKEN] < (chat_span.end_time - chat_span.start_time) / 1e9
