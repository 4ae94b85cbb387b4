"""Deciding a run's final output: from ``tool_use_behavior`` or from the model's last message."""

from __future__ import annotations

import inspect
import threading
from collections import OrderedDict
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


# Built schemas by output type, least recently used first. Bounded: a program that makes output types on
# the fly (a new pydantic model per request) must not keep every one of them alive.
SCHEMA_CACHE_SIZE = 256
_schemas: OrderedDict[Any, AgentOutputSchema] = OrderedDict()
_schemas_lock = threading.Lock()


def output_schema_for(agent: Agent[Any]) -> AgentOutputSchema | None:
    """The output schema of ``agent`` (``None`` for plain text), built once per output type (LRU-bounded)."""
    output_type = agent.output_type
    if output_type is None or output_type is str:
        return None
    if isinstance(output_type, AgentOutputSchema):
        return output_type
    try:
        with _schemas_lock:  # runs in several threads (run_sync from a thread pool) share the cache
            schema = _schemas[output_type]
            _schemas.move_to_end(output_type)
        return schema
    except KeyError:
        pass
    except TypeError:  # an unhashable output type: build it each time
        return AgentOutputSchema(output_type)
    schema = AgentOutputSchema(output_type)
    with _schemas_lock:
        _schemas[output_type] = schema
        while len(_schemas) > SCHEMA_CACHE_SIZE:
            _schemas.popitem(last=False)
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
        if refusal:  # as the Agents SDK: any refusal in the answer ends the run (or goes to its handler)
            raise ModelRefusalError(refusal)
    schema = output_schema_for(agent)
    if schema is None:
        return (ItemHelpers.extract_text(last) if last is not None else None) or ""
    text = ItemHelpers.extract_text(last) if last is not None else None
    if not text:
        return NO_FINAL  # no message text: run again
    return schema.validate_json(text)
