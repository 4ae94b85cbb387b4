"""``Agent.as_tool``: an agent called as a function tool, running a nested run on the tool's input.

Unlike a handoff, the nested agent sees only the input the calling model wrote, and the caller keeps the
conversation. The nested run happens inside the tool call, so its telemetry nests under ``execute_tool``.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypedDict

from .exceptions import AgentsException, ModelBehaviorError, UserError
from .items import ItemHelpers, MessageOutputItem, ToolCallOutputItem
from .run_context import RunContextWrapper
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

_INPUT_SCHEMA: dict[str, Any] = {
    "description": "Default input schema for agent-as-tool calls.",
    "properties": {"input": {"title": "Input", "type": "string"}},
    "required": ["input"],
    "title": "AgentAsToolInput",
    "type": "object",
    "additionalProperties": False,
}
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


def _refuse_unsupported(needs_approval: Any, parameters: Any, input_builder: Any, include_input_schema: bool) -> None:
    for label, value in (("needs_approval (human approval of tool calls)", needs_approval),
                         ("parameters= (structured agent-tool input)", parameters),
                         ("input_builder=", input_builder), ("include_input_schema=", include_input_schema)):
        if value:
            raise UserError(f"Agent.as_tool({label}) is not supported by otelagents; {_PLUGIN}")


def _input_of(tool_name: str, arguments: str) -> str:
    try:
        parsed = json.loads(arguments) if arguments else {}
    except ValueError as exc:
        raise ModelBehaviorError(f"Invalid JSON input for tool {tool_name}: {arguments}") from exc
    if not isinstance(parsed, dict) or not isinstance(parsed.get("input"), str):
        raise ModelBehaviorError(f"Invalid JSON input for tool {tool_name}: expected {{\"input\": <string>}}")
    return str(parsed["input"])


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
    input_builder: Any = None,
    include_input_schema: bool = False,
    on_stream_max_pending_events: int | None = 1024,
) -> FunctionTool:
    from .run import DEFAULT_MAX_TURNS, Runner
    from .run_config import RunConfig

    if on_stream is not None and not callable(on_stream):
        raise UserError("on_stream must be callable or None. Pass run configuration with run_config=... "
                        "instead of as the fifth positional argument.")
    _refuse_unsupported(needs_approval, parameters, input_builder, include_input_schema)
    config = RunConfig.coerce(run_config) if run_config is not None else None
    name = tool_name or tool_name_for(agent.name)

    async def run_nested(ctx: ToolContext[Any], arguments: str) -> Any:
        text = _input_of(ctx.tool_name or name, arguments)
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
                delivered = on_stream(AgentToolStreamEvent(event=event, agent=agent, tool_call=call))
                if inspect.isawaitable(delivered):
                    await delivered
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
        name=name, description=tool_description or "", params_json_schema=dict(_INPUT_SCHEMA),
        on_invoke_tool=on_invoke_tool, strict_json_schema=True, is_enabled=is_enabled,
    )
