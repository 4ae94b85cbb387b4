"""Function tools: ``@function_tool`` turns a Python function into a tool the model can call."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Union, overload

from pydantic import ValidationError

from ._hosted_tools import CodeInterpreterTool, FileSearchTool, HostedTool, ImageGenerationTool, WebSearchTool
from .exceptions import AgentsException, ModelBehaviorError, UserError
from .function_schema import function_schema
from .run_context import RunContextWrapper
from .tool_context import ToolContext

if TYPE_CHECKING:
    from .tool_guardrails import ToolInputGuardrail, ToolOutputGuardrail

logger = logging.getLogger("otelagents")

DEFAULT_TOOL_ERROR_MESSAGE = "An error occurred while running the tool. Please try again."

ToolErrorFunction = Callable[[RunContextWrapper[Any], Exception], str | Awaitable[str]]


def default_tool_error_function(ctx: RunContextWrapper[Any], error: Exception) -> str:
    """What the model is told when a tool raises (the Agents SDK 0.24 wording)."""
    return DEFAULT_TOOL_ERROR_MESSAGE


@dataclass
class FunctionTool:
    """A tool backed by a Python function. ``on_invoke_tool(ctx, args_json)`` runs it."""

    name: str
    description: str
    params_json_schema: dict[str, Any]
    on_invoke_tool: Callable[[ToolContext[Any], str], Awaitable[Any]]
    strict_json_schema: bool = True
    is_enabled: bool | Callable[[RunContextWrapper[Any], Any], bool | Awaitable[bool]] = True
    timeout: float | None = None
    timeout_behavior: Literal["error_as_result", "raise_exception"] = "error_as_result"
    tool_input_guardrails: list[ToolInputGuardrail[Any]] | None = None
    tool_output_guardrails: list[ToolOutputGuardrail[Any]] | None = None

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise UserError("A FunctionTool needs a non-empty string name")


Tool = Union[FunctionTool, HostedTool]
"""Any tool an agent can hold: a function tool, or a hosted tool the Responses API runs."""

__all__ = [
    "CodeInterpreterTool", "FileSearchTool", "FunctionTool", "FunctionToolResult", "ImageGenerationTool", "Tool",
    "ToolErrorFunction", "WebSearchTool", "default_tool_error_function", "function_tool",
]


@dataclass
class FunctionToolResult:
    """What one tool call produced (for ``tool_use_behavior`` callables)."""

    tool: FunctionTool
    output: Any
    run_item: Any


def _parse_arguments(tool_name: str, args_json: str) -> dict[str, Any]:
    try:
        parsed = json.loads(args_json) if args_json.strip() else {}
    except json.JSONDecodeError as exc:
        raise ModelBehaviorError(f"Invalid JSON input for tool {tool_name}: {exc.msg}") from exc
    if not isinstance(parsed, dict):
        raise ModelBehaviorError(
            f"Invalid JSON input for tool {tool_name}: expected an object, got {type(parsed).__name__}"
        )
    return parsed


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


def _build_tool(
    func: Callable[..., Any],
    *,
    name_override: str | None,
    description_override: str | None,
    use_docstring_info: bool,
    failure_error_function: ToolErrorFunction | None,
    strict_mode: bool,
    is_enabled: bool | Callable[[RunContextWrapper[Any], Any], bool | Awaitable[bool]],
    timeout: float | None,
    timeout_behavior: Literal["error_as_result", "raise_exception"],
) -> FunctionTool:
    schema = function_schema(
        func,
        name_override=name_override,
        description_override=description_override,
        use_docstring_info=use_docstring_info,
        strict_json_schema=strict_mode,
    )
    is_async = inspect.iscoroutinefunction(func)

    async def invoke(ctx: ToolContext[Any], args_json: str) -> Any:
        parsed = _parse_arguments(schema.name, args_json)
        try:
            data = schema.params_pydantic_model(**parsed)
        except ValidationError as exc:
            raise ModelBehaviorError(f"Invalid JSON input for tool {schema.name}: {exc}") from exc
        args, kwargs = schema.to_call_args(data)
        if schema.takes_context:
            args.insert(0, ctx)
        if is_async:
            return await func(*args, **kwargs)
        # A plain function runs in a worker thread so it never blocks the event loop (or the stream).
        return await asyncio.to_thread(func, *args, **kwargs)

    async def on_invoke_tool(ctx: ToolContext[Any], args_json: str) -> Any:
        try:
            return await invoke(ctx, args_json)
        except Exception as exc:
            if failure_error_function is None:
                if isinstance(exc, AgentsException):
                    raise
                raise UserError(f"Error running tool {schema.name}: {exc}") from exc
            logger.debug("Tool %s raised %r; returning the error text to the model", schema.name, exc)
            ctx.tool_error = exc
            return await _maybe_await(failure_error_function(ctx, exc))

    return FunctionTool(
        name=schema.name,
        description=schema.description or "",
        params_json_schema=schema.params_json_schema,
        on_invoke_tool=on_invoke_tool,
        strict_json_schema=strict_mode,
        is_enabled=is_enabled,
        timeout=timeout,
        timeout_behavior=timeout_behavior,
    )


@overload
def function_tool(func: Callable[..., Any], /) -> FunctionTool: ...


@overload
def function_tool(
    *,
    name_override: str | None = None,
    description_override: str | None = None,
    docstring_style: str | None = None,
    use_docstring_info: bool = True,
    failure_error_function: ToolErrorFunction | None = default_tool_error_function,
    strict_mode: bool = True,
    is_enabled: bool | Callable[[RunContextWrapper[Any], Any], bool | Awaitable[bool]] = True,
    timeout: float | None = None,
    timeout_behavior: Literal["error_as_result", "raise_exception"] = "error_as_result",
    tool_input_guardrails: list[ToolInputGuardrail[Any]] | None = None,
    tool_output_guardrails: list[ToolOutputGuardrail[Any]] | None = None,
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def function_tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name_override: str | None = None,
    description_override: str | None = None,
    docstring_style: str | None = None,
    use_docstring_info: bool = True,
    failure_error_function: ToolErrorFunction | None = default_tool_error_function,
    strict_mode: bool = True,
    is_enabled: bool | Callable[[RunContextWrapper[Any], Any], bool | Awaitable[bool]] = True,
    timeout: float | None = None,
    timeout_behavior: Literal["error_as_result", "raise_exception"] = "error_as_result",
    tool_input_guardrails: list[ToolInputGuardrail[Any]] | None = None,
    tool_output_guardrails: list[ToolOutputGuardrail[Any]] | None = None,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Turn a function into a tool; use as ``@function_tool``, ``@function_tool(...)`` or a call.

    The schema comes from the signature and docstring (strict by default). A first parameter typed
    ``RunContextWrapper``/``ToolContext`` receives the run context and is not shown to the model.
    Sync functions run in a worker thread; async ones are awaited. By default an exception inside the
    tool is reported to the model as its output and the run goes on; pass
    ``failure_error_function=None`` to make the run fail instead.
    """
    if timeout is not None and timeout <= 0:
        raise UserError(f"function_tool timeout must be a positive number of seconds, not {timeout!r}")

    def decorate(f: Callable[..., Any]) -> FunctionTool:
        if not callable(f):
            raise UserError(f"function_tool expects a function, got {type(f).__name__}")
        tool = _build_tool(
            f,
            name_override=name_override,
            description_override=description_override,
            use_docstring_info=use_docstring_info,
            failure_error_function=failure_error_function,
            strict_mode=strict_mode,
            is_enabled=is_enabled,
            timeout=timeout,
            timeout_behavior=timeout_behavior,
        )
        tool.tool_input_guardrails = tool_input_guardrails
        tool.tool_output_guardrails = tool_output_guardrails
        return tool

    if func is not None:
        return decorate(func)
    return decorate


def __getattr__(name: str) -> Any:
    # An Agents SDK name otelagents does not offer: say so, and what to use instead.
    from ._unsupported import sdk_only

    raise sdk_only(name, __name__) or AttributeError(f"module {__name__!r} has no attribute {name!r}")
