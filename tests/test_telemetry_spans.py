"""Span trees produced by ``Telemetry`` for real runs of the scripted model (real SDK, in-memory exporter)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry import trace
from pydantic import BaseModel

from otelagents import (
    Agent,
    ModelBehaviorError,
    ModelSettings,
    RawResponsesStreamEvent,
    RunContextWrapper,
    Runner,
    UserError,
    function_tool,
)
from otelagents.telemetry import semconv as sc
from otelagents.testing import ScriptedModel, failure, handoff, tool_call
from tests.telemetry_helpers import (
    Rig,
    drain,
    make_rig,
    one_trace,
    parent_of,
    run_to_end,
    tree,
    wait_done,
)

OK, ERR = "UNSET", "ERROR"
CANCELLED = sc.ERROR_TYPE_CANCELLED


@pytest.fixture
def rig() -> Rig:
    return make_rig()


def assert_all_closed(rig: Rig) -> None:
    assert rig.tracker.open == {}, f"spans left open: {rig.tracker.open}"
    assert rig.tracker.ended_twice == []


@function_tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"sunny in {city}"


async def test_plain_text_run(rig: Rig) -> None:
    model = ScriptedModel(["Hello there, traveller."])
    agent = Agent("greeter", instructions="Be kind.", model=model, handoff_description="Greets people",
                  model_settings=ModelSettings(temperature=0.3, top_p=0.9, max_tokens=100))
    result = await run_to_end(agent, "hi", rig.config())
    assert result.final_output == "Hello there, traveller."
    spans = rig.spans()
    assert tree(spans) == [
        ("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
            ("invoke_agent greeter", "INTERNAL", OK, None, [
                ("chat scripted-model", "CLIENT", OK, None, []),
            ]),
        ]),
    ]
    one_trace(spans)
    chat = rig.span("chat scripted-model").attributes or {}
    assert chat[sc.GEN_AI_OPERATION_NAME] == "chat"
    assert chat[sc.GEN_AI_PROVIDER_NAME] == "scripted"
    assert chat[sc.GEN_AI_REQUEST_MODEL] == "scripted-model"
    assert chat[sc.GEN_AI_RESPONSE_MODEL] == "scripted-model"
    assert str(chat[sc.GEN_AI_RESPONSE_ID]).startswith("resp_")
    assert chat[sc.GEN_AI_REQUEST_STREAM] is True
    assert chat[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert chat[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.3
    assert chat[sc.GEN_AI_REQUEST_TOP_P] == 0.9
    assert chat[sc.GEN_AI_REQUEST_MAX_TOKENS] == 100
    assert chat[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 3  # one per word
    assert chat[sc.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS not in chat  # zero: left out
    assert 0 <= chat[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] <= chat[sc.OTELAGENTS_TIME_TO_FIRST_TOKEN]
    assert chat[sc.OTELAGENTS_OUTPUT_CHUNKS] == 3
    assert sc.OPENAI_API_TYPE not in chat and sc.SERVER_ADDRESS not in chat  # the scripted model has neither
    agent_span = rig.span("invoke_agent greeter").attributes or {}
    assert agent_span[sc.GEN_AI_AGENT_NAME] == "greeter"
    assert agent_span[sc.GEN_AI_AGENT_DESCRIPTION] == "Greets people"
    assert agent_span[sc.GEN_AI_PROVIDER_NAME] == "scripted"
    assert agent_span[sc.GEN_AI_REQUEST_MODEL] == "scripted-model"
    assert agent_span[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    root = rig.span("invoke_workflow Agent workflow").attributes or {}
    assert root[sc.GEN_AI_OPERATION_NAME] == "invoke_workflow"
    assert root[sc.GEN_AI_WORKFLOW_NAME] == "Agent workflow"
    assert root[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert sc.GEN_AI_CONVERSATION_ID not in root  # never synthesized
    assert_all_closed(rig)


async def test_workflow_name_group_id_and_metadata(rig: Rig) -> None:
    agent = Agent("a", model=ScriptedModel(["ok"]))
    config = rig.config(workflow_name="Support", group_id="conv-42", trace_metadata={"tenant": "acme", "n": 3})
    await run_to_end(agent, "hi", config)
    root = rig.span("invoke_workflow Support").attributes or {}
    assert root[sc.GEN_AI_WORKFLOW_NAME] == "Support"
    assert root[sc.GEN_AI_CONVERSATION_ID] == "conv-42"
    assert root["otelagents.metadata.tenant"] == "acme"
    assert root["otelagents.metadata.n"] == 3


async def test_tool_call_then_message(rig: Rig) -> None:
    model = ScriptedModel([[tool_call("get_weather", {"city": "Paris"}, call_id="call_w1")], "Sunny."])
    agent = Agent("weather", model=model, tools=[get_weather])
    await run_to_end(agent, "weather?", rig.config())
    assert tree(rig.spans()) == [
        ("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
            ("invoke_agent weather", "INTERNAL", OK, None, [
                ("chat scripted-model", "CLIENT", OK, None, []),
                ("execute_tool get_weather", "INTERNAL", OK, None, []),
                ("chat scripted-model", "CLIENT", OK, None, []),
            ]),
        ]),
    ]
    tool = rig.span("execute_tool get_weather").attributes or {}
    assert tool[sc.GEN_AI_OPERATION_NAME] == "execute_tool"
    assert tool[sc.GEN_AI_TOOL_NAME] == "get_weather"
    assert tool[sc.GEN_AI_TOOL_CALL_ID] == "call_w1"
    assert tool[sc.GEN_AI_TOOL_TYPE] == "function"
    assert tool[sc.GEN_AI_TOOL_DESCRIPTION] == "Current weather for a city."
    chats = [s for s in rig.spans() if s.name.startswith("chat")]
    assert [(s.attributes or {})[sc.GEN_AI_RESPONSE_FINISH_REASONS] for s in chats] == [("tool_calls",), ("stop",)]
    assert [(s.attributes or {})[sc.OTELAGENTS_TURN] for s in chats] == [1, 2]
    assert_all_closed(rig)


async def test_parallel_tools_are_concurrent_siblings(rig: Rig) -> None:
    @function_tool
    async def slow_a() -> str:
        await asyncio.sleep(0.1)
        return "a"

    @function_tool
    async def slow_b() -> str:
        await asyncio.sleep(0.1)
        return "b"

    model = ScriptedModel([[tool_call("slow_a"), tool_call("slow_b")], "done"])
    agent = Agent("p", model=model, tools=[slow_a, slow_b])
    await run_to_end(agent, "go", rig.config())
    assert tree(rig.spans()) == [
        ("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
            ("invoke_agent p", "INTERNAL", OK, None, [
                ("chat scripted-model", "CLIENT", OK, None, []),
                ("execute_tool slow_a", "INTERNAL", OK, None, []),
                ("execute_tool slow_b", "INTERNAL", OK, None, []),
                ("chat scripted-model", "CLIENT", OK, None, []),
            ]),
        ]),
    ]
    a, b = rig.span("execute_tool slow_a"), rig.span("execute_tool slow_b")
    assert parent_of(a) == parent_of(b) == rig.span("invoke_agent p").context.span_id
    assert a.start_time is not None and b.start_time is not None and a.end_time is not None and b.end_time is not None
    assert a.start_time < b.end_time and b.start_time < a.end_time, "the two tools did not overlap"


async def test_handled_tool_error_marks_the_tool_span_only(rig: Rig) -> None:
    @function_tool
    def broken(city: str) -> str:
        raise ValueError("the weather service is down")

    model = ScriptedModel([[tool_call("broken", {"city": "Oslo"})], "Sorry, no weather."])
    agent = Agent("w", model=model, tools=[broken])
    result = await run_to_end(agent, "weather?", rig.config())
    assert result.final_output == "Sorry, no weather."
    assert tree(rig.spans()) == [
        ("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
            ("invoke_agent w", "INTERNAL", OK, None, [
                ("chat scripted-model", "CLIENT", OK, None, []),
                ("execute_tool broken", "INTERNAL", ERR, "ValueError", []),
                ("chat scripted-model", "CLIENT", OK, None, []),
            ]),
        ]),
    ]
    tool = rig.span("execute_tool broken")
    assert (tool.attributes or {})[sc.OTELAGENTS_ERROR_HANDLED] is True
    assert [e.name for e in tool.events] == ["exception"]
    assert dict(tool.events[0].attributes or {}) == {"exception.type": "ValueError"}  # no message: capture off
    assert tool.status.description == "ValueError"


async def test_fatal_tool_error_fails_the_run(rig: Rig) -> None:
    @function_tool(failure_error_function=None)
    def broken() -> str:
        raise ValueError("boom")

    model = ScriptedModel([[tool_call("broken")], "never"])
    agent = Agent("w", model=model, tools=[broken])
    result = Runner.run_streamed(agent, "go", run_config=rig.config())
    with pytest.raises(UserError):
        await drain(result)
    assert tree(rig.spans()) == [
        ("invoke_workflow Agent workflow", "INTERNAL", ERR, "UserError", [
            ("invoke_agent w", "INTERNAL", ERR, "UserError", [
                ("chat scripted-model", "CLIENT", OK, None, []),
                ("execute_tool broken", "INTERNAL", ERR, "UserError", []),
            ]),
        ]),
    ]
    assert sc.OTELAGENTS_ERROR_HANDLED not in (rig.span("execute_tool broken").attributes or {})
    assert_all_closed(rig)


async def test_handoff(rig: Rig) -> None:
    billing = Agent("billing", handoff_description="Handles invoices", model=ScriptedModel(["Your invoice is paid."]))
    triage = Agent("triage", model=ScriptedModel([[handoff(billing)]]), handoffs=[billing])
    result = await run_to_end(triage, "invoice?", rig.config())
    assert result.final_output == "Your invoice is paid."
    assert tree(rig.spans()) == [
        ("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
            ("invoke_agent triage", "INTERNAL", OK, None, [
                ("chat scripted-model", "CLIENT", OK, None, []),
                ("execute_tool transfer_to_billing", "INTERNAL", OK, None, []),
            ]),
            ("invoke_agent billing", "INTERNAL", OK, None, [
                ("chat scripted-model", "CLIENT", OK, None, []),
            ]),
        ]),
    ]
    hand = rig.span("execute_tool transfer_to_billing").attributes or {}
    assert hand[sc.GEN_AI_AGENT_HANDOFF_SOURCE_NAME] == "triage"
    assert hand[sc.GEN_AI_AGENT_HANDOFF_TARGET_NAME] == "billing"
    assert hand[sc.GEN_AI_TOOL_NAME] == "transfer_to_billing"
    assert hand[sc.GEN_AI_OPERATION_NAME] == "execute_tool"
    assert "Handles invoices" in str(hand[sc.GEN_AI_TOOL_DESCRIPTION])
    assert (rig.span("invoke_agent billing").attributes or {})[sc.GEN_AI_AGENT_DESCRIPTION] == "Handles invoices"
    assert_all_closed(rig)


class Forecast(BaseModel):
    city: str
    celsius: int


async def test_structured_output(rig: Rig) -> None:
    model = ScriptedModel(['{"city": "Paris", "celsius": 21}'])
    agent = Agent("f", model=model, output_type=Forecast)
    result = await run_to_end(agent, "forecast", rig.config())
    assert result.final_output == Forecast(city="Paris", celsius=21)
    assert tree(rig.spans()) == [
        ("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
            ("invoke_agent f", "INTERNAL", OK, None, [("chat scripted-model", "CLIENT", OK, None, [])]),
        ]),
    ]
    assert (rig.span("chat scripted-model").attributes or {})[sc.GEN_AI_OUTPUT_TYPE] == "json"


async def test_model_failure_event(rig: Rig) -> None:
    agent = Agent("f", model=ScriptedModel([failure("failed")]))
    result = Runner.run_streamed(agent, "hi", run_config=rig.config())
    with pytest.raises(ModelBehaviorError):
        await drain(result)
    assert tree(rig.spans()) == [
        ("invoke_workflow Agent workflow", "INTERNAL", ERR, "ModelBehaviorError", [
            ("invoke_agent f", "INTERNAL", ERR, "ModelBehaviorError", [
                ("chat scripted-model", "CLIENT", ERR, "ModelBehaviorError", []),
            ]),
        ]),
    ]
    chat = rig.span("chat scripted-model").attributes or {}
    assert chat[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("error",)
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in chat  # no usage arrived: none reported
    assert_all_closed(rig)


async def test_incomplete_response_reports_its_reason(rig: Rig) -> None:
    agent = Agent("f", model=ScriptedModel([failure("incomplete")]))
    with pytest.raises(ModelBehaviorError):
        await drain(Runner.run_streamed(agent, "hi", run_config=rig.config()))
    chat = rig.span("chat scripted-model").attributes or {}
    assert chat[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("max_output_tokens",)


def _cancelled_tree(agent: str, children: list[Any]) -> list[Any]:
    return [("invoke_workflow Agent workflow", "INTERNAL", ERR, CANCELLED, [
        (f"invoke_agent {agent}", "INTERNAL", ERR, CANCELLED, children)])]


async def test_cancel_immediate_during_the_stream(rig: Rig) -> None:
    model = ScriptedModel(["one two three four five six seven eight"], delta_delay=0.05)
    result = Runner.run_streamed(Agent("c", model=model), "go", run_config=rig.config())
    async for event in result.stream_events():
        if isinstance(event, RawResponsesStreamEvent) and event.data.type == "response.output_text.delta":
            result.cancel()
    await wait_done(result)
    assert tree(rig.spans()) == _cancelled_tree("c", [("chat scripted-model", "CLIENT", ERR, CANCELLED, [])])
    chat = rig.span("chat scripted-model")
    assert chat.status.description == "cancelled"
    assert (chat.attributes or {})[sc.OTELAGENTS_CANCELLED] is True
    assert (chat.attributes or {})[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("error",)
    assert_all_closed(rig)


async def test_cancel_immediate_during_a_tool(rig: Rig) -> None:
    started = asyncio.Event()

    @function_tool
    async def slow() -> str:
        started.set()
        await asyncio.sleep(10)
        return "late"

    result = Runner.run_streamed(Agent("c", model=ScriptedModel([[tool_call("slow")], "x"]), tools=[slow]), "go",
                                 run_config=rig.config())

    async def cancel_when_started() -> None:
        await asyncio.wait_for(started.wait(), 5)
        result.cancel()

    await asyncio.gather(drain(result), cancel_when_started())
    await wait_done(result)
    assert tree(rig.spans()) == _cancelled_tree("c", [
        ("chat scripted-model", "CLIENT", OK, None, []),
        ("execute_tool slow", "INTERNAL", ERR, CANCELLED, []),
    ])
    assert_all_closed(rig)


async def test_cancel_after_turn(rig: Rig) -> None:
    model = ScriptedModel([[tool_call("get_weather", {"city": "Rome"})], "never asked"])
    result = Runner.run_streamed(Agent("c", model=model, tools=[get_weather]), "go", run_config=rig.config())
    async for _ in result.stream_events():
        result.cancel("after_turn")
    await wait_done(result)
    assert tree(rig.spans()) == _cancelled_tree("c", [
        ("chat scripted-model", "CLIENT", OK, None, []),
        ("execute_tool get_weather", "INTERNAL", OK, None, []),
    ])
    assert_all_closed(rig)


async def test_consumer_break_cancels_and_closes_every_span(rig: Rig) -> None:
    model = ScriptedModel(["a b c d e f g h i j"], delta_delay=0.05)
    result = Runner.run_streamed(Agent("c", model=model), "go", run_config=rig.config())
    async for event in result.stream_events():
        if isinstance(event, RawResponsesStreamEvent) and event.data.type == "response.output_text.delta":
            break
    await wait_done(result)
    assert tree(rig.spans()) == _cancelled_tree("c", [("chat scripted-model", "CLIENT", ERR, CANCELLED, [])])
    assert_all_closed(rig)


async def test_spans_nest_under_the_callers_span_and_tool_spans_under_execute_tool(rig: Rig) -> None:
    tracer = rig.provider.get_tracer("app")

    @function_tool
    async def async_tool() -> str:
        with tracer.start_as_current_span("inside async tool"):
            return "a"

    @function_tool
    def sync_tool() -> str:
        with tracer.start_as_current_span("inside sync tool"):
            return "s"

    def instructions(ctx: RunContextWrapper[Any], agent: Agent[Any]) -> str:
        with tracer.start_as_current_span("inside instructions"):
            return "Be brief."

    model = ScriptedModel([[tool_call("async_tool"), tool_call("sync_tool")], "done"])
    agent = Agent("n", instructions=instructions, model=model, tools=[async_tool, sync_tool])
    with tracer.start_as_current_span("caller") as caller:
        await run_to_end(agent, "go", rig.config())
        assert trace.get_current_span() is caller  # the run left the caller's context alone
    by_name = {s.name: s for s in rig.spans()}
    assert parent_of(by_name["invoke_workflow Agent workflow"]) == caller.get_span_context().span_id
    assert parent_of(by_name["inside async tool"]) == by_name["execute_tool async_tool"].context.span_id
    assert parent_of(by_name["inside sync tool"]) == by_name["execute_tool sync_tool"].context.span_id
    assert parent_of(by_name["inside instructions"]) == by_name["invoke_agent n"].context.span_id
    one_trace(rig.spans())


async def test_non_streamed_run_restores_the_callers_context(rig: Rig) -> None:
    tracer = rig.provider.get_tracer("app")
    agent = Agent("n", model=ScriptedModel([[tool_call("get_weather", {"city": "Oslo"})], "ok"]), tools=[get_weather])
    with tracer.start_as_current_span("caller") as caller:
        result = await Runner.run(agent, "go", run_config=rig.config())
        assert trace.get_current_span() is caller
    assert result.final_output == "ok"
    assert [n[0] for n in tree(rig.spans())] == ["caller"]
    assert_all_closed(rig)


async def test_traceparent_header_is_the_chat_span(rig: Rig) -> None:
    model = ScriptedModel([[tool_call("get_weather", {"city": "Oslo"})], "ok"])
    await run_to_end(Agent("t", model=model, tools=[get_weather]), "go", rig.config())
    chats = [s for s in rig.spans() if s.name.startswith("chat")]
    sent = [(request.settings.extra_headers or {}).get("traceparent") for request in model.requests]
    assert sent == [f"00-{c.context.trace_id:032x}-{c.context.span_id:016x}-{int(c.context.trace_flags):02x}"
                    for c in chats]
    assert all(c.context.trace_flags.sampled for c in chats)


async def test_tracing_disabled_emits_nothing(rig: Rig) -> None:
    model = ScriptedModel([[tool_call("get_weather", {"city": "Oslo"})], "ok"])
    result = await run_to_end(Agent("t", model=model, tools=[get_weather]), "go", rig.config(tracing_disabled=True))
    assert result.final_output == "ok"
    assert rig.spans() == []
    assert [r.settings.extra_headers for r in model.requests] == [None, None]
    recorded = {snap.name for snap in rig.engine.collect() if snap.points}
    assert recorded == {sc.METRIC_INFO}  # set once at start; nothing from the run


async def test_runs_without_an_sdk() -> None:
    from otelagents.telemetry import MetricsEngine, Telemetry

    telemetry = Telemetry(trace.NoOpTracerProvider(), metrics=MetricsEngine())
    model = ScriptedModel([[tool_call("get_weather", {"city": "Oslo"})], "ok"])
    config_agent = Agent("t", model=model, tools=[get_weather])
    result = Runner.run_streamed(config_agent, "go", run_config={"observers": [telemetry]})
    await drain(result)
    assert result.final_output == "ok"
    assert [r.settings.extra_headers for r in model.requests] == [None, None]  # no valid span: no header


async def test_run_end_closes_anything_left_open_child_first(rig: Rig) -> None:
    """Driven through the observer interface directly: children the loop never ended are ended by the run."""
    from otelagents import Outcome, RunConfig
    from otelagents.models.interface import ModelInfo
    from otelagents.observer import ModelCallInfo, RunInfo, ToolCallInfo

    agent = Agent("direct", tools=[get_weather])
    for run_outcome, child_error in ((Outcome(cancelled=True), CANCELLED), (Outcome(), "UnfinishedOperation")):
        rig.exporter.clear()
        run = rig.telemetry.run_started(RunInfo(agent, "hi", RunConfig(), 10, True, False))
        agent_obs = run.agent_started(agent, 1)
        agent_obs.model_call_started(ModelCallInfo(agent, ModelInfo("m", "p"), 1, None, [], ModelSettings(), [], [],
                                                   None))
        tool = agent_obs.tool_started(ToolCallInfo(agent, get_weather, "call_1", "{}"))
        assert trace.get_current_span().name == "chat m"  # type: ignore[attr-defined]
        run.ended(run_outcome)
        assert trace.get_current_span() is trace.INVALID_SPAN  # the run's task context is restored
        tool.ended(Outcome(output="late"))  # a late report is ignored: no second end
        assert [s.name for s in rig.spans()] == [
            "execute_tool get_weather", "chat m", "invoke_agent direct", "invoke_workflow Agent workflow"]
        run_error = None if run_outcome.ok else CANCELLED
        assert tree(rig.spans()) == [
            ("invoke_workflow Agent workflow", "INTERNAL", OK if run_error is None else ERR, run_error, [
                ("invoke_agent direct", "INTERNAL", ERR, child_error, [
                    ("chat m", "CLIENT", ERR, child_error, []),
                    ("execute_tool get_weather", "INTERNAL", ERR, child_error, []),
                ]),
            ]),
        ]
    assert_all_closed(rig)
