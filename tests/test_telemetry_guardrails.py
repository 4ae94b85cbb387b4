"""Guardrails run by the runner show up as ``run_guardrail`` spans under the agent that runs them."""

from __future__ import annotations

from typing import Any

import pytest

from otelagents import (
    Agent,
    GuardrailFunctionOutput,
    InputGuardrailTripwireTriggered,
    OutputGuardrailTripwireTriggered,
    Runner,
    input_guardrail,
    output_guardrail,
)
from otelagents.telemetry import semconv as sc
from otelagents.testing import ScriptedModel, handoff
from tests.telemetry_helpers import Rig, drain, make_rig, tree

OK, ERR = "UNSET", "ERROR"


def check(word: str) -> Any:
    def guard(ctx: Any, agent: Agent[Any], value: Any) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(output_info=None, tripwire_triggered=word in str(value))

    guard.__name__ = f"no_{word}"
    return guard


@pytest.fixture
def rig() -> Rig:
    return make_rig()


async def test_passing_guardrails_are_ok_spans_under_their_agents(rig: Rig) -> None:
    b = Agent(name="B", model=ScriptedModel(["fine"]), output_guardrails=[output_guardrail(check("x"))])
    a = Agent(name="A", model=ScriptedModel([handoff(b)]), handoffs=[b],
              input_guardrails=[input_guardrail(check("y")), input_guardrail(run_in_parallel=False)(check("z"))])
    result = Runner.run_streamed(a, "hi", run_config=rig.config())
    await drain(result)
    assert result.final_output == "fine"
    [run] = tree(rig.spans())
    agents = {node[0]: node for node in run[4]}
    guard_a = sorted(c[:4] for c in agents["invoke_agent A"][4] if c[0].startswith("run_guardrail"))
    assert guard_a == [("run_guardrail no_y", "INTERNAL", OK, None), ("run_guardrail no_z", "INTERNAL", OK, None)]
    guard_b = [c[:4] for c in agents["invoke_agent B"][4] if c[0].startswith("run_guardrail")]
    assert guard_b == [("run_guardrail no_x", "INTERNAL", OK, None)]
    attrs = rig.span("run_guardrail no_x").attributes or {}
    assert attrs[sc.OTELAGENTS_GUARDRAIL_KIND] == "output" and attrs[sc.OTELAGENTS_GUARDRAIL_TRIGGERED] is False
    assert (rig.span("run_guardrail no_z").attributes or {})[sc.OTELAGENTS_GUARDRAIL_KIND] == "input"


@pytest.mark.parametrize(("kind", "error"), [("input", InputGuardrailTripwireTriggered),
                                             ("output", OutputGuardrailTripwireTriggered)])
async def test_a_tripwire_is_an_error_span_named_by_the_exception(rig: Rig, kind: str, error: type) -> None:
    guard = check("boom")
    agent = Agent(name="A", model=ScriptedModel(["boom"]),
                  input_guardrails=[input_guardrail(run_in_parallel=False)(guard)] if kind == "input" else [],
                  output_guardrails=[output_guardrail(guard)] if kind == "output" else [])
    result = Runner.run_streamed(agent, "boom", run_config=rig.config())
    with pytest.raises(error):
        await drain(result)
    span = rig.span("run_guardrail no_boom")
    assert span.status.status_code.name == ERR
    assert (span.attributes or {})[sc.ERROR_TYPE] == error.__name__
    assert (span.attributes or {})[sc.OTELAGENTS_GUARDRAIL_TRIGGERED] is True
    assert rig.tracker.open == {}
