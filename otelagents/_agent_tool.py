"""``Agent.as_tool``: an agent called as a function tool, running a nested run on the tool's input.

Unlike a handoff, the nested agent sees only the input the calling model wrote, and the caller keeps the
conversation. The nested run happens inside the tool call, so its telemetry nests under ``execute_tool``.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypedDict

from pydantic import BaseModel, TypeAdapter, ValidationError

from .agent_tool_input import (
    AgentAsToolInput,
    StructuredInputSchemaInfo,
    StructuredToolInputBuilder,
    build_structured_input_schema_info,
    resolve_agent_tool_input,
)
from .exceptions import AgentsException, ModelBehaviorError, UserError
from .items import ItemHelpers, MessageOutputItem, ToolCallOutputItem
from .run_context import RunContextWrapper
from .strict_schema import ensure_strict_json_schema
from .tool import FunctionTool, ToolErrorFunction, default_tool_error_function
from .tool_context import ToolContext

if TYPE_CHECKING:
    from openai.types.responses import ResponseFunctionToolCall

    from .agent import Agent
    from .lifecycle import RunHooks
    from .memory.session import Session
    from .result import RunResult, RunResultStreaming
    from .run_config import RunConfig
    from .stream_events import StreamEvent

logger = logging.getLogger("otelagents")

_PLUGIN = "run the agents with the Agents SDK and the otelagents plugin (otelagents.instrumentation) instead"


class AgentToolStreamEvent(TypedDict):
    """What ``as_tool(on_stream=...)`` receives for each event of the nested run."""

    event: StreamEvent
    agent: Agent[Any]
    tool_call: ResponseFunctionToolCall | None


def tool_name_for(name: str) -> str:
    """The SDK's function-style name: whitespace and other invalid characters become ``_``, lower case."""
    transformed = re.sub(r"[^a-zA-Z0-9_]", "_", re.sub(r"\s", "_", name))
    if transformed != name:
        logger.warning("Tool name %r contains invalid characters for function calling and has been "
                       "transformed to %r.", name, transformed.lower())
    return transformed.lower()


def _structured_input(parameters: type[Any] | None, include_input_schema: bool,
                      input_builder: StructuredToolInputBuilder | None
                      ) -> tuple[TypeAdapter[Any], dict[str, Any], StructuredInputSchemaInfo | None]:
    """The arguments' adapter and strict schema, and the schema details to show the nested agent (if any)."""
    if parameters is not None and not (isinstance(parameters, type) and (
            dataclasses.is_dataclass(parameters) or issubclass(parameters, BaseModel))):
        raise TypeError("Agent tool parameters must be a dataclass or Pydantic model type.")
    adapter: TypeAdapter[Any] = TypeAdapter(parameters or AgentAsToolInput)
    schema = ensure_strict_json_schema(adapter.json_schema())
    include_schema = bool(include_input_schema and parameters is not None)
    info = build_structured_input_schema_info(schema, include_json_schema=include_schema)
    captured = parameters is not None or include_schema or input_builder is not None
    return adapter, schema, info if captured else None


async def _nested_input(tool_name: str, arguments: str, adapter: TypeAdapter[Any],
                        info: StructuredInputSchemaInfo | None,
                        input_builder: StructuredToolInputBuilder | None) -> str | list[Any]:
    try:
        data = json.loads(arguments) if arguments else {}
    except ValueError as exc:
        raise ModelBehaviorError(f"Invalid JSON input for tool {tool_name}: {arguments}") from exc
    try:
        parsed = adapter.validate_python(data)
    except ValidationError as exc:
        raise ModelBehaviorError(f"Invalid JSON input for tool {tool_name}: {exc}") from exc
    params = adapter.dump_python(parsed, mode="json")
    value = await resolve_agent_tool_input(params=params, schema_info=info, input_builder=input_builder)
    if not isinstance(value, (str, list)):
        raise ModelBehaviorError("Agent tool called with invalid input")
    return value


async def _deliver(on_stream: Callable[[AgentToolStreamEvent], Any], payload: AgentToolStreamEvent) -> None:
    """One nested event to the callback, awaited before the next (so at most one is ever pending); as in
    the SDK, a callback that raises is logged and the nested run goes on."""
    try:
        delivered = on_stream(payload)
        if inspect.isawaitable(delivered):
            await delivered
    except Exception as exc:
        logger.error("Error while handling an agent tool on_stream event (agent %s): %r", payload["agent"].name, exc,
                     exc_info=exc)


def _call_of(ctx: ToolContext[Any]) -> ResponseFunctionToolCall:
    from openai.types.responses import ResponseFunctionToolCall

    return ResponseFunctionToolCall(type="function_call", name=ctx.tool_name, call_id=ctx.tool_call_id,
                                    arguments=ctx.tool_arguments)


def default_output(result: RunResult | RunResultStreaming) -> Any:
    """The final output; when it is empty (and no output guardrail checked it), the latest text."""
    if result.final_output is not None and result.final_output != "":
        return result.final_output
    if result.output_guardrail_results:
        return result.final_output
    for item in reversed(result.new_items):
        if isinstance(item, MessageOutputItem):
            text = ItemHelpers.text_message_output(item)
            if text:
                return text
        if isinstance(item, ToolCallOutputItem) and isinstance(item.output, str) and item.output:
            return item.output
    return result.final_output


def agent_as_tool(
    agent: Agent[Any],
    tool_name: str | None,
    tool_description: str | None,
    custom_output_extractor: Callable[[Any], Awaitable[str]] | None = None,
    is_enabled: bool | Callable[[RunContextWrapper[Any], Any], bool | Awaitable[bool]] = True,
    on_stream: Callable[[AgentToolStreamEvent], Any] | None = None,
    run_config: RunConfig | dict[str, Any] | None = None,
    max_turns: int | None = None,
    hooks: RunHooks[Any] | None = None,
    previous_response_id: str | None = None,
    conversation_id: str | None = None,
    session: Session | None = None,
    failure_error_function: ToolErrorFunction | None = default_tool_error_function,
    needs_approval: Any = False,
    parameters: type[Any] | None = None,
    input_builder: StructuredToolInputBuilder | None = None,
    include_input_schema: bool = False,
    on_stream_max_pending_events: int | None = 1024,
) -> FunctionTool:
    from .run import DEFAULT_MAX_TURNS, Runner
    from .run_config import RunConfig

    if on_stream is not None and not callable(on_stream):
        raise UserError("on_stream must be callable or None. Pass run configuration with run_config=... "
                        "instead of as the fifth positional argument.")
    if on_stream_max_pending_events is not None and on_stream_max_pending_events <= 0:
        raise UserError("on_stream_max_pending_events must be a positive integer or None")
    if needs_approval:
        raise UserError(f"Agent.as_tool(needs_approval=...) (human approval of tool calls) is not supported by "
                        f"otelagents; {_PLUGIN}")
    adapter, params_schema, schema_info = _structured_input(parameters, include_input_schema, input_builder)
    config = RunConfig.coerce(run_config) if run_config is not None else None
    name = tool_name or tool_name_for(agent.name)

    async def run_nested(ctx: ToolContext[Any], arguments: str) -> Any:
        text = await _nested_input(ctx.tool_name or name, arguments, adapter, schema_info, input_builder)
        nested_config = config or ctx.run_config  # the outer run's config: its model, settings, observers
        options: dict[str, Any] = dict(
            context=ctx.context, max_turns=max_turns if max_turns is not None else DEFAULT_MAX_TURNS,
            hooks=hooks, run_config=nested_config, previous_response_id=previous_response_id,
            conversation_id=conversation_id, session=session,
        )
        result: RunResult | RunResultStreaming
        if on_stream is None:
            result = await Runner.run(agent, text, **options)
        else:
            result = Runner.run_streamed(agent, text, **options)
            call = ctx.tool_call or _call_of(ctx)
            async for event in result.stream_events():
                await _deliver(on_stream, AgentToolStreamEvent(event=event, agent=agent, tool_call=call))
        if custom_output_extractor is not None:
            return await custom_output_extractor(result)
        return default_output(result)

    async def on_invoke_tool(ctx: ToolContext[Any], arguments: str) -> Any:
        try:
            return await run_nested(ctx, arguments)
        except Exception as exc:
            if failure_error_function is None:
                if isinstance(exc, AgentsException):
                    raise
                raise UserError(f"Error running tool {name}: {exc}") from exc
            ctx.tool_error = exc
            message = failure_error_function(ctx, exc)
            return await message if inspect.isawaitable(message) else message

    return FunctionTool(
        name=name, description=tool_description or "", params_json_schema=params_schema,
        on_invoke_tool=on_invoke_tool, strict_json_schema=True, is_enabled=is_enabled,
    )
