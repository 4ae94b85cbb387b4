"""Running a function tool's guardrails around its call (see ``otelagents.tool_guardrails``).

The guardrails of a tool run one after the other, in order, as in the Agents SDK: the first that rejects or
raises decides. Each check is reported to the agent's observation (a ``run_guardrail`` span named after the
guardrail, carrying the tool's name).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from ._observed_guardrail import observed_check
from .exceptions import ToolInputGuardrailTripwireTriggered, ToolOutputGuardrailTripwireTriggered
from .observer import AgentObservation, GuardrailInfo
from .tool_guardrails import (
    ToolGuardrailFunctionOutput,
    ToolInputGuardrailData,
    ToolInputGuardrailResult,
    ToolOutputGuardrailData,
    ToolOutputGuardrailResult,
)

if TYPE_CHECKING:
    from .agent import Agent
    from .tool import FunctionTool
    from .tool_context import ToolContext


class ToolGuardrailSink(Protocol):
    """Where a run keeps its tool guardrail results (the run's result object)."""

    tool_input_guardrail_results: list[ToolInputGuardrailResult]
    tool_output_guardrail_results: list[ToolOutputGuardrailResult]


async def _check(guardrail: Any, data: Any, kind: str, tool: FunctionTool, agent: Agent[Any],
                 observation: AgentObservation) -> ToolGuardrailFunctionOutput:
    info = GuardrailInfo(agent=agent, name=guardrail.get_name(), kind=kind, tool_name=tool.name)

    def tripped(verdict: ToolGuardrailFunctionOutput) -> bool | BaseException:
        behavior = verdict.behavior["type"]
        if behavior == "raise_exception":
            return (ToolInputGuardrailTripwireTriggered if kind == "tool_input"
                    else ToolOutputGuardrailTripwireTriggered)(guardrail, verdict)
        return behavior == "reject_content"

    result: ToolGuardrailFunctionOutput = await observed_check(
        observation.guardrail_started, info, partial(guardrail.run, data), tripped)
    return result


async def check_tool_input(tool: FunctionTool, ctx: ToolContext[Any], agent: Agent[Any],
                           observation: AgentObservation, sink: ToolGuardrailSink | None) -> str | None:
    """The rejection message that replaces the call, or None to run the tool. Raises on ``raise_exception``."""
    for guardrail in tool.tool_input_guardrails or ():
        verdict = await _check(guardrail, ToolInputGuardrailData(context=ctx, agent=agent), "tool_input", tool,
                               agent, observation)
        if sink is not None:
            sink.tool_input_guardrail_results.append(ToolInputGuardrailResult(guardrail=guardrail, output=verdict))
        behavior = verdict.behavior
        if behavior["type"] == "raise_exception":
            raise ToolInputGuardrailTripwireTriggered(guardrail=guardrail, output=verdict)
        if behavior["type"] == "reject_content":
            return behavior["message"]
    return None


async def check_tool_output(tool: FunctionTool, ctx: ToolContext[Any], agent: Agent[Any], output: Any,
                            observation: AgentObservation, sink: ToolGuardrailSink | None) -> Any:
    """The output the model gets: the tool's, or a rejection message. Raises on ``raise_exception``."""
    for guardrail in tool.tool_output_guardrails or ():
        data = ToolOutputGuardrailData(context=ctx, agent=agent, output=output)
        verdict = await _check(guardrail, data, "tool_output", tool, agent, observation)
        if sink is not None:
            sink.tool_output_guardrail_results.append(ToolOutputGuardrailResult(guardrail=guardrail, output=verdict))
        behavior = verdict.behavior
        if behavior["type"] == "raise_exception":
            raise ToolOutputGuardrailTripwireTriggered(guardrail=guardrail, output=verdict)
        if behavior["type"] == "reject_content":
            return behavior["message"]
    return output
