"""Deciding a run's final output: from ``tool_use_behavior`` or from the model's last message."""

from __future__ import annotations

import inspect
from typing import Any

from openai.types.responses import ResponseOutputMessage

from .agent import Agent, ToolsToFinalOutputResult
from .agent_output import AgentOutputSchema
from .exceptions import ModelBehaviorError, ModelRefusalError
from .items import ItemHelpers
from .run_context import RunContextWrapper
from .tool import FunctionToolResult


class _NoFinal:
    def __repr__(self) -> str:
        return "<no final output>"


NO_FINAL: Any = _NoFinal()


_schemas: dict[Any, AgentOutputSchema] = {}


def output_schema_for(agent: Agent[Any]) -> AgentOutputSchema | None:
    """The output schema of ``agent`` (``None`` for plain text), built once per output type."""
    if agent.output_type is None or agent.output_type is str:
        return None
    if isinstance(agent.output_type, AgentOutputSchema):
        return agent.output_type
    try:
        return _schemas[agent.output_type]
    except (KeyError, TypeError):
        schema = AgentOutputSchema(agent.output_type)
    try:
        _schemas[agent.output_type] = schema
    except TypeError:  # an unhashable output type: build it each time
        pass
    return schema


async def tool_use_decision(
    agent: Agent[Any], context: RunContextWrapper[Any], results: list[FunctionToolResult]
) -> Any:
    """The final output decided by ``agent.tool_use_behavior``, or ``NO_FINAL`` to run the model again."""
    behavior = agent.tool_use_behavior
    text_output = agent.output_type in (None, str)
    if behavior == "run_llm_again":
        return NO_FINAL
    if behavior == "stop_on_first_tool":
        output = results[0].output
        return str(output) if text_output else output
    if isinstance(behavior, dict):
        names = behavior.get("stop_at_tool_names", [])
        for r in results:
            if r.tool.name in names:
                return str(r.output) if text_output else r.output
        return NO_FINAL
    if callable(behavior):
        decision = behavior(context, results)
        if inspect.isawaitable(decision):
            decision = await decision
        if not isinstance(decision, ToolsToFinalOutputResult):
            raise ModelBehaviorError(
                f"tool_use_behavior returned {type(decision).__name__}, expected ToolsToFinalOutputResult"
            )
        if decision.is_final_output:
            return decision.final_output
        return NO_FINAL
    raise ModelBehaviorError(f"Unknown tool_use_behavior: {behavior!r}")


def final_from_messages(agent: Agent[Any], messages: list[ResponseOutputMessage]) -> Any:
    """The final output from the turn's last message, or ``NO_FINAL`` (no text for a structured output)."""
    last = messages[-1] if messages else None
    if last is not None:
        refusal = ItemHelpers.extract_refusal(last)
        if refusal and ItemHelpers.extract_text(last) is None:
            raise ModelRefusalError(refusal)
    schema = output_schema_for(agent)
    if schema is None:
        return (ItemHelpers.extract_text(last) if last is not None else None) or ""
    text = ItemHelpers.extract_text(last) if last is not None else None
    if not text:
        return NO_FINAL  # no message text: run again
    return schema.validate_json(text)
