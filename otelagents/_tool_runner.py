"""Running one turn's function tools (concurrently, results in call order) and its handoff."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openai.types.responses import ResponseFunctionToolCall

from ._observing import safe_activate, safe_call
from ._tool_guardrails import ToolGuardrailSink, check_tool_input, check_tool_output
from .exceptions import ToolTimeoutError, UserError
from .handoffs import Handoff, HandoffInputData
from .items import HandoffOutputItem, ItemHelpers, RunItem, ToolCallOutputItem
from .observer import NOOP_TOOL, AgentObservation, HandoffInfo, Outcome, ToolCallInfo
from .run_context import RunContextWrapper
from .tool import FunctionTool, FunctionToolResult
from .tool_context import ToolContext

if TYPE_CHECKING:
    from .agent import Agent
    from .lifecycle import RunHooks

MULTIPLE_HANDOFFS_MESSAGE = "Multiple handoffs detected, ignoring this one."


@dataclass
class ToolRun:
    """A function call the model made, matched to a tool (``tool`` is None for an unknown name)."""

    call: ResponseFunctionToolCall
    tool: FunctionTool | None


@dataclass
class HandoffRun:
    call: ResponseFunctionToolCall
    handoff: Handoff


class FatalToolError(Exception):
    """Carries a fatal tool error and the results of the sibling calls that finished before it."""

    def __init__(self, error: BaseException, finished: list[FunctionToolResult]) -> None:
        super().__init__(str(error))
        self.error = error
        self.finished = finished


async def _hook(hooks: Any, name: str, *args: Any) -> None:
    method = getattr(hooks, name, None) if hooks is not None else None
    if method is not None:
        value = method(*args)
        if inspect.isawaitable(value):
            await value


async def run_function_tools(
    runs: list[ToolRun],
    *,
    agent: Agent[Any],
    context: RunContextWrapper[Any],
    hooks: RunHooks[Any] | None,
    observation: AgentObservation,
    max_concurrency: int | None,
    run_config: Any = None,
    guardrail_sink: ToolGuardrailSink | None = None,
) -> list[FunctionToolResult]:
    """Run the calls concurrently; results come back in call order. A fatal error cancels the rest."""
    if not runs:
        return []
    semaphore = asyncio.Semaphore(max_concurrency) if max_concurrency else None

    async def run_one(run: ToolRun) -> FunctionToolResult:
        if semaphore is None:
            return await _invoke(run, agent=agent, context=context, hooks=hooks, observation=observation,
                                 run_config=run_config, guardrail_sink=guardrail_sink)
        async with semaphore:
            return await _invoke(run, agent=agent, context=context, hooks=hooks, observation=observation,
                                 run_config=run_config, guardrail_sink=guardrail_sink)

    tasks = [asyncio.ensure_future(run_one(run)) for run in runs]
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    failed = [t for t in tasks if t in done and not t.cancelled() and t.exception() is not None]
    if failed:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        finished = [t.result() for t in tasks if t.done() and not t.cancelled() and t.exception() is None]
        error = failed[0].exception()
        assert error is not None
        raise FatalToolError(error, finished)
    return [task.result() for task in tasks]


async def _invoke(
    run: ToolRun,
    *,
    agent: Agent[Any],
    context: RunContextWrapper[Any],
    hooks: RunHooks[Any] | None,
    observation: AgentObservation,
    run_config: Any = None,
    guardrail_sink: ToolGuardrailSink | None = None,
) -> FunctionToolResult:
    call, tool = run.call, run.tool
    if tool is None:
        # tool_not_found_behavior="return_error_to_model"
        message = f"Tool '{call.name}' not found."
        unknown = FunctionTool(name=call.name, description="", params_json_schema={}, on_invoke_tool=_never)
        item = ToolCallOutputItem(agent=agent, raw_item=ItemHelpers.tool_call_output_item(call, message),
                                  output=message)
        return FunctionToolResult(tool=unknown, output=message, run_item=item)
    tool_ctx = ToolContext.from_run_context(
        context, tool_name=tool.name, tool_call_id=call.call_id, tool_arguments=call.arguments, agent=agent,
        tool_call=call, run_config=run_config,
    )
    obs = safe_call("tool_started", observation.tool_started, NOOP_TOOL,
                    ToolCallInfo(agent=agent, tool=tool, call_id=call.call_id, arguments=call.arguments))
    try:
        with safe_activate(obs):
            rejected = await check_tool_input(tool, tool_ctx, agent, observation, guardrail_sink)
            if rejected is not None:
                output = rejected
            else:
                await _hook(hooks, "on_tool_start", tool_ctx, agent, tool)
                await _hook(agent.hooks, "on_tool_start", tool_ctx, agent, tool)
                output = await _call_with_timeout(tool, tool_ctx, call.arguments)
                output = await check_tool_output(tool, tool_ctx, agent, output, observation, guardrail_sink)
                await _hook(hooks, "on_tool_end", tool_ctx, agent, tool, output)
                await _hook(agent.hooks, "on_tool_end", tool_ctx, agent, tool, output)
    except asyncio.CancelledError as exc:
        safe_call("ToolObservation.ended", obs.ended, None, Outcome(error=exc, cancelled=True))
        raise
    except BaseException as exc:
        safe_call("ToolObservation.ended", obs.ended, None, Outcome(error=exc))
        raise
    handled = tool_ctx.tool_error
    safe_call("ToolObservation.ended", obs.ended, None,
              Outcome(error=handled, handled=handled is not None, output=output))
    item = ToolCallOutputItem(agent=agent, raw_item=ItemHelpers.tool_call_output_item(call, output), output=output)
    return FunctionToolResult(tool=tool, output=output, run_item=item)


async def _never(ctx: Any, args: str) -> Any:  # pragma: no cover - placeholder tool body
    raise UserError("this tool does not exist")


async def _call_with_timeout(tool: FunctionTool, ctx: ToolContext[Any], arguments: str) -> Any:
    if tool.timeout is None:
        return await tool.on_invoke_tool(ctx, arguments)
    try:
        return await asyncio.wait_for(tool.on_invoke_tool(ctx, arguments), tool.timeout)
    except asyncio.TimeoutError as exc:
        error = ToolTimeoutError(tool.name, tool.timeout)
        if tool.timeout_behavior == "raise_exception":
            raise error from exc
        ctx.tool_error = error
        return f"Tool '{tool.name}' timed out after {tool.timeout} seconds."


def ignored_handoff_outputs(extra: list[HandoffRun], agent: Agent[Any]) -> list[RunItem]:
    return [
        ToolCallOutputItem(
            agent=agent,
            raw_item=ItemHelpers.tool_call_output_item(run.call, MULTIPLE_HANDOFFS_MESSAGE),
            output=MULTIPLE_HANDOFFS_MESSAGE,
        )
        for run in extra
    ]


async def execute_handoff(
    run: HandoffRun,
    *,
    agent: Agent[Any],
    context: RunContextWrapper[Any],
    hooks: RunHooks[Any] | None,
    observation: AgentObservation,
) -> tuple[Agent[Any], HandoffOutputItem]:
    """Invoke the handoff (callback and hooks) and build its output item."""
    from .observer import NOOP_HANDOFF

    target = run.handoff.agent
    obs = NOOP_HANDOFF
    if target is not None:
        obs = safe_call("handoff_started", observation.handoff_started, NOOP_HANDOFF,
                        HandoffInfo(from_agent=agent, to_agent=target, tool_name=run.call.name,
                                    call_id=run.call.call_id, handoff=run.handoff))
    try:
        new_agent = await run.handoff.on_invoke_handoff(context, run.call.arguments)
        if target is None:
            obs = safe_call("handoff_started", observation.handoff_started, NOOP_HANDOFF,
                            HandoffInfo(from_agent=agent, to_agent=new_agent, tool_name=run.call.name,
                                        call_id=run.call.call_id, handoff=run.handoff))
        await _hook(hooks, "on_handoff", context, agent, new_agent)
        await _hook(new_agent.hooks, "on_handoff", context, new_agent, agent)
    except BaseException as exc:
        safe_call("HandoffObservation.ended", obs.ended, None,
                  Outcome(error=exc, cancelled=isinstance(exc, asyncio.CancelledError)))
        raise
    safe_call("HandoffObservation.ended", obs.ended, None, Outcome())
    item = HandoffOutputItem(
        agent=agent,
        raw_item={
            "call_id": run.call.call_id,
            "output": run.handoff.get_transfer_message(new_agent),
            "type": "function_call_output",
        },
        source_agent=agent,
        target_agent=new_agent,
    )
    return new_agent, item


async def apply_input_filter(
    handoff: Handoff,
    run_config_filter: Any,
    data: HandoffInputData,
) -> HandoffInputData:
    chosen = handoff.input_filter or run_config_filter
    if chosen is None:
        return data
    if not callable(chosen):
        raise UserError(f"Invalid input filter: {chosen!r}")
    result = chosen(data)
    if inspect.isawaitable(result):
        result = await result
    if not isinstance(result, HandoffInputData):
        raise UserError(f"Invalid input filter result: {result!r}")
    return result
