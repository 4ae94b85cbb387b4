"""The observer hooks for what the Agents SDK has and the runner gained later: guardrails, tool types,
conversation ids, agents used as tools, non-streaming calls. Driven through the observer interface (the
seam both front doors feed), read back from a real SDK tracer provider and the metrics engine."""

from __future__ import annotations

from typing import Any

import pytest

from otelagents import Agent, RunConfig, function_tool
from otelagents._observing import start_run_observation
from otelagents.model_settings import ModelSettings
from otelagents.models.interface import ModelInfo
from otelagents.observer import (
    NOOP_GUARDRAIL,
    NOOP_RUN,
    OK,
    AgentObservation,
    GuardrailInfo,
    GuardrailObservation,
    ModelCallInfo,
    Outcome,
    RunInfo,
    RunObservation,
    RunObserver,
    ToolCallInfo,
)
from otelagents.telemetry import semconv as sc
from tests.telemetry_helpers import Rig, counter_value, hist, make_rig, parent_of, tree


@function_tool
def lookup(city: str) -> str:
    """Look a city up."""
    return city


AGENT = Agent(name="Guarded", instructions="x", tools=[lookup])


@pytest.fixture
def rig() -> Rig:
    return make_rig()


def run_info(config: RunConfig | None = None, conversation_id: str | None = None) -> RunInfo:
    return RunInfo(starting_agent=AGENT, input="hi", run_config=config or RunConfig(), max_turns=10,
                   streamed=True, include_sensitive_data=False, conversation_id=conversation_id)


def call_info(stream: bool = True) -> ModelCallInfo:
    return ModelCallInfo(agent=AGENT, model=ModelInfo("m-1", "openai", "responses", "127.0.0.1", 8000), turn=1,
                         system_instructions=None, input=[], settings=ModelSettings(), tools=[], handoffs=[],
                         output_type=None, stream=stream)


def test_a_passing_guardrail_is_an_ok_span_under_the_agent(rig: Rig) -> None:
    run = rig.telemetry.run_started(run_info())
    agent = run.agent_started(AGENT, 1)
    agent.guardrail_started(GuardrailInfo(AGENT, "no_math", "input")).ended(OK, triggered=False)
    agent.ended(OK)
    run.ended(OK)
    assert tree(rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", "UNSET", None, [
        ("invoke_agent Guarded", "INTERNAL", "UNSET", None, [
            ("run_guardrail no_math", "INTERNAL", "UNSET", None, [])])])]
    attrs = rig.span("run_guardrail no_math").attributes or {}
    assert attrs[sc.GEN_AI_OPERATION_NAME] == "run_guardrail"
    assert attrs[sc.OTELAGENTS_GUARDRAIL_NAME] == "no_math"
    assert attrs[sc.OTELAGENTS_GUARDRAIL_KIND] == "input"
    assert attrs[sc.OTELAGENTS_GUARDRAIL_TRIGGERED] is False
    assert attrs[sc.GEN_AI_AGENT_NAME] == "Guarded"
    assert sc.GEN_AI_TOOL_NAME not in attrs
    assert counter_value(rig.engine, sc.METRIC_ERRORS, {sc.GEN_AI_OPERATION_NAME: "run_guardrail"}) == 0


class Tripped(Exception):
    pass


@pytest.mark.parametrize(("error", "expected"), [(None, "ToolOutputGuardrailTripwireTriggered"),
                                                 (Tripped("no"), "Tripped")])
def test_a_tripwire_is_an_error_and_counted(rig: Rig, error: BaseException | None, expected: str) -> None:
    run = rig.telemetry.run_started(run_info())
    agent = run.agent_started(AGENT, 1)
    guard = agent.guardrail_started(GuardrailInfo(AGENT, "no_secrets", "tool_output", tool_name="lookup"))
    guard.ended(Outcome(error=error), triggered=True)
    guard.ended(OK)  # a second end changes nothing
    agent.ended(OK)
    run.ended(OK)
    span = rig.span("run_guardrail no_secrets")
    attrs = span.attributes or {}
    assert span.status.status_code.name == "ERROR"
    assert attrs[sc.ERROR_TYPE] == expected
    assert attrs[sc.OTELAGENTS_GUARDRAIL_TRIGGERED] is True
    assert attrs[sc.GEN_AI_TOOL_NAME] == "lookup"
    assert counter_value(rig.engine, sc.METRIC_ERRORS, {sc.GEN_AI_OPERATION_NAME: "run_guardrail",
                                                        sc.ERROR_TYPE: expected}) == 1
    assert not rig.tracker.open and not rig.tracker.ended_twice


def test_a_tripwire_of_unknown_kind_is_named_generically(rig: Rig) -> None:
    run = rig.telemetry.run_started(run_info())
    agent = run.agent_started(AGENT, 1)
    agent.guardrail_started(GuardrailInfo(AGENT, "custom", "unknown")).ended(OK, triggered=True)
    agent.ended(OK)
    run.ended(OK)
    assert (rig.span("run_guardrail custom").attributes or {})[sc.ERROR_TYPE] == "tripwire_triggered"


def test_a_failing_guardrail_is_an_error_without_trigger(rig: Rig) -> None:
    run = rig.telemetry.run_started(run_info())
    agent = run.agent_started(AGENT, 1)
    agent.guardrail_started(GuardrailInfo(AGENT, "broken", "output")).ended(Outcome(error=ValueError("x")))
    agent.ended(OK)
    run.ended(OK)
    attrs = rig.span("run_guardrail broken").attributes or {}
    assert attrs[sc.ERROR_TYPE] == "ValueError"
    assert attrs[sc.OTELAGENTS_GUARDRAIL_TRIGGERED] is False


def test_the_run_end_closes_a_guardrail_left_open(rig: Rig) -> None:
    run = rig.telemetry.run_started(run_info())
    agent = run.agent_started(AGENT, 1)
    agent.guardrail_started(GuardrailInfo(AGENT, "slow", "input"))
    run.ended(Outcome(cancelled=True))
    assert (rig.span("run_guardrail slow").attributes or {})[sc.ERROR_TYPE] == "cancelled"
    assert not rig.tracker.open and not rig.tracker.ended_twice


@pytest.mark.parametrize(("conversation_id", "group_id", "expected"),
                         [("conv_1", "group", "conv_1"), (None, "group", "group"), (None, None, None)])
def test_conversation_id_on_workflow_agent_and_chat_spans(rig: Rig, conversation_id: str | None,
                                                          group_id: str | None, expected: str | None) -> None:
    run = rig.telemetry.run_started(run_info(RunConfig(group_id=group_id), conversation_id))
    agent = run.agent_started(AGENT, 1)
    agent.model_call_started(call_info()).ended(None, OK)
    agent.ended(OK)
    run.ended(OK)
    for name in ("invoke_workflow Agent workflow", "invoke_agent Guarded", "chat m-1"):
        assert (rig.span(name).attributes or {}).get(sc.GEN_AI_CONVERSATION_ID) == expected, name


def test_a_non_streaming_call_has_no_stream_attribute_and_no_streaming_latencies(rig: Rig) -> None:
    run = rig.telemetry.run_started(run_info())
    agent = run.agent_started(AGENT, 1)
    agent.model_call_started(call_info(stream=False)).ended(None, OK)
    agent.model_call_started(call_info(stream=True)).ended(None, OK)
    agent.ended(OK)
    run.ended(OK)
    chats = [s for s in rig.spans() if s.name == "chat m-1"]
    assert [(s.attributes or {}).get(sc.GEN_AI_REQUEST_STREAM) for s in chats] == [None, True]
    assert hist(rig.engine, sc.METRIC_OPERATION_DURATION).count == 2


@pytest.mark.parametrize("tool_type", ["function", "extension", "datastore"])
def test_tool_type_on_the_span_and_the_duration_metric(rig: Rig, tool_type: str) -> None:
    run = rig.telemetry.run_started(run_info())
    agent = run.agent_started(AGENT, 1)
    agent.tool_started(ToolCallInfo(AGENT, lookup, "call_1", "{}", tool_type=tool_type)).ended(OK)
    agent.ended(OK)
    run.ended(OK)
    assert (rig.span("execute_tool lookup").attributes or {})[sc.GEN_AI_TOOL_TYPE] == tool_type
    assert hist(rig.engine, sc.METRIC_EXECUTE_TOOL_DURATION, {sc.GEN_AI_TOOL_TYPE: tool_type}).count == 1


def test_a_run_inside_a_tool_nests_its_agents_under_execute_tool(rig: Rig) -> None:
    inner_agent = Agent(name="Helper", instructions="x")
    run = rig.telemetry.run_started(run_info())
    agent = run.agent_started(AGENT, 1)
    tool = agent.tool_started(ToolCallInfo(AGENT, lookup, "call_1", "{}"))
    with tool.activate():
        inner = rig.telemetry.run_started(run_info())
        inner.agent_started(inner_agent, 1).ended(OK)
        inner.ended(OK)
    tool.ended(OK)
    agent.ended(OK)
    run.ended(OK)
    assert tree(rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", "UNSET", None, [
        ("invoke_agent Guarded", "INTERNAL", "UNSET", None, [
            ("execute_tool lookup", "INTERNAL", "UNSET", None, [
                ("invoke_agent Helper", "INTERNAL", "UNSET", None, [])])])])]
    assert hist(rig.engine, sc.METRIC_INVOKE_WORKFLOW_DURATION).count == 1
    # Outside the tool again, a run is a workflow of its own.
    rig.telemetry.run_started(run_info()).ended(OK)
    workflows = [s for s in rig.spans() if s.name.startswith("invoke_workflow")]
    assert len(workflows) == 2 and parent_of(workflows[1]) is None


class Recorder(RunObserver):
    def __init__(self) -> None:
        self.seen: list[tuple[str, bool, str | None]] = []

    def run_started(self, run: RunInfo) -> RunObservation:
        recorder = self

        class _Guard(GuardrailObservation):
            def ended(self, outcome: Outcome, triggered: bool = False) -> None:
                recorder.seen.append(("ended", triggered, type(outcome.error).__name__ if outcome.error else None))

        class _Agent(AgentObservation):
            def guardrail_started(self, guardrail: GuardrailInfo) -> GuardrailObservation:
                recorder.seen.append(("started", False, guardrail.name))
                return _Guard()

        class _Run(RunObservation):
            def agent_started(self, agent: Any, turn: int) -> Any:
                return _Agent()

        return _Run()


def test_guardrail_hooks_fan_out_to_every_observer(rig: Rig) -> None:
    first, second = Recorder(), Recorder()
    run = start_run_observation([first, rig.telemetry, second], run_info())
    agent = run.agent_started(AGENT, 1)
    agent.guardrail_started(GuardrailInfo(AGENT, "g", "input")).ended(Outcome(error=Tripped()), True)
    agent.ended(OK)
    run.ended(OK)
    assert first.seen == second.seen == [("started", False, "g"), ("ended", True, "Tripped")]
    assert (rig.span("run_guardrail g").attributes or {})[sc.ERROR_TYPE] == "Tripped"


def test_the_default_observer_ignores_guardrails() -> None:
    run = RunObserver().run_started(run_info())
    guard = run.agent_started(AGENT, 1).guardrail_started(GuardrailInfo(AGENT, "g", "input"))
    assert run is NOOP_RUN and guard is NOOP_GUARDRAIL
    assert guard.ended(OK, triggered=True) is None  # no-op, no error


def test_a_tool_guardrail_nests_under_its_tool_when_checked_inside_it(rig: Rig) -> None:
    run = rig.telemetry.run_started(run_info())
    agent = run.agent_started(AGENT, 1)
    tool = agent.tool_started(ToolCallInfo(AGENT, lookup, "call_1", "{}"))
    with tool.activate():
        agent.guardrail_started(GuardrailInfo(AGENT, "inside", "tool_input", tool_name="lookup")).ended(OK)
        agent.guardrail_started(GuardrailInfo(AGENT, "other tool", "tool_input", tool_name="other")).ended(OK)
    tool.ended(OK)
    agent.guardrail_started(GuardrailInfo(AGENT, "after", "tool_output", tool_name="lookup")).ended(OK)
    agent.ended(OK)
    run.ended(OK)
    tool_span, agent_span = rig.span("execute_tool lookup"), rig.span("invoke_agent Guarded")
    assert parent_of(rig.span("run_guardrail inside")) == tool_span.context.span_id
    assert parent_of(rig.span("run_guardrail other tool")) == agent_span.context.span_id
    assert parent_of(rig.span("run_guardrail after")) == agent_span.context.span_id
