"""The run loop: one implementation behind ``Runner.run``, ``run_sync`` and ``run_streamed``.

It drives turns (model call, items, tools, handoff, next step), writes events to the result, and
reports to the run observation. It never imports OpenTelemetry.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseReasoningItem,
)

from ._error_handling import final_or_handled, handled
from ._final_output import NO_FINAL as _NO_FINAL
from ._final_output import output_schema_for, tool_use_decision
from ._guardrails import InputGate, refuse_output_guardrails_on_server_history, run_output_guardrails
from ._handoff_history import history_after_handoff
from ._hosted_tool_calls import HostedToolCalls
from ._hosted_tools import HOSTED_CALL_TYPES
from ._model_call import (
    ModelRequest,
    filter_model_input,
    input_item_of,
    stream_model,
    uses_own_get_response,
    whole_response,
)
from ._observing import safe_call
from ._server_conversation import ServerConversation
from ._session import SessionRun
from ._tool_names import check_tool_names
from ._tool_runner import (
    FatalToolError,
    HandoffRun,
    ToolRun,
    execute_handoff,
    ignored_handoff_outputs,
    run_function_tools,
)
from .agent import Agent
from .exceptions import (
    AgentsException,
    MaxTurnsExceeded,
    ModelBehaviorError,
    RunErrorDetails,
)
from .handoffs import Handoff
from .items import (
    HandoffCallItem,
    ItemHelpers,
    MessageOutputItem,
    ModelResponse,
    ReasoningItem,
    RunItem,
    ToolCallItem,
)
from .model_settings import ModelSettings
from .models.interface import Model, ModelTracing
from .observer import (
    NOOP_AGENT,
    NOOP_MODEL_CALL,
    AgentObservation,
    GuardrailInfo,
    GuardrailObservation,
    ModelCallInfo,
    Outcome,
    RunObservation,
)
from .result import RunResultStreaming
from .run_config import RunConfig
from .run_context import AgentHookContext
from .stream_events import AgentUpdatedStreamEvent, RunItemStreamEvent
from .tool import FunctionTool, Tool

_ITEM_EVENT_NAMES = {
    "message_output_item": "message_output_created",
    "tool_call_item": "tool_called",
    "handoff_call_item": "handoff_requested",
    "reasoning_item": "reasoning_item_created",
}


@dataclass
class _Turn:
    """What one turn produced."""

    response: ModelResponse
    model_items: list[RunItem] = field(default_factory=list)
    tool_runs: list[ToolRun] = field(default_factory=list)
    handoff_runs: list[HandoffRun] = field(default_factory=list)
    messages: list[ResponseOutputMessage] = field(default_factory=list)


class RunLoop:
    """State and steps of one run. ``result`` is shared with the caller (streamed or not)."""

    def __init__(
        self,
        result: RunResultStreaming,
        *,
        run_config: RunConfig,
        hooks: Any,
        observation: RunObservation,
        resolve_model: Callable[[Agent[Any], RunConfig], Model],
        streamed: bool,
        error_handlers: Mapping[str, Any] | None = None,
        settings_for: Callable[[Agent[Any], RunConfig], ModelSettings] | None = None,
        session: SessionRun | None = None,
        conversation: ServerConversation | None = None,
    ) -> None:
        self.result = result
        self.settings_for = settings_for or _own_settings
        self.error_handlers: Mapping[str, Any] = error_handlers or {}
        self.run_config = run_config
        self.hooks = hooks
        self.observation = observation
        self.resolve_model = resolve_model
        self.emit = result._put if streamed else _discard
        self.streamed = streamed
        self.original_input: str | list[Any] = result.input
        self.generated: list[RunItem] = []
        self.agent_observation: AgentObservation | None = None
        self.session = session or SessionRun(None, None, None)
        self.conversation = conversation
        self.input_gate = InputGate.for_run(result, run_config, streamed, self._observe_guardrail)
        self.tracing = (
            ModelTracing.DISABLED
            if run_config.tracing_disabled
            else ModelTracing.ENABLED if run_config.trace_include_sensitive_data else ModelTracing.ENABLED_WITHOUT_DATA
        )

    # --- the whole run ---------------------------------------------------------------------------
    async def run(self) -> None:
        result = self.result
        agent = result.current_agent
        self.emit(AgentUpdatedStreamEvent(new_agent=agent))
        tools_used = False
        while True:
            if result.current_turn > 0:
                await result._wait_for_consumers()
            if result._stop_after_turn():
                self._end_agent(Outcome(cancelled=True))
                return
            result.current_turn += 1
            max_turns = result.max_turns
            if max_turns is not None and result.current_turn > max_turns:
                error = MaxTurnsExceeded(f"Max turns ({max_turns}) exceeded")
                if not await handled(self, agent, "max_turns", error):
                    raise error
                result.current_turn = max_turns
                return
            first_turn = result.current_turn == 1 and bool(self.input_gate)
            if self.agent_observation is None:
                self.agent_observation = safe_call(
                    "agent_started", self.observation.agent_started, NOOP_AGENT, agent, result.current_turn
                )
                if first_turn:
                    await self.input_gate.before_first_turn()
                result.context_wrapper.turn_input = ItemHelpers.input_to_new_input_list(self.original_input)
                hook_ctx = AgentHookContext.of(result.context_wrapper)
                await _call_hook(self.hooks, "on_agent_start", hook_ctx, agent)
                await _call_hook(agent.hooks, "on_start", hook_ctx, agent)
            model_turn = self._model_turn(agent, tools_used)
            turn = await (self.input_gate.around_first_turn(model_turn) if first_turn else model_turn)
            next_agent, final = await self._finish_turn(agent, turn)
            if final is _NO_FINAL:
                await self.session.save_new(result.new_items)
            tools_used = tools_used or bool(turn.tool_runs)
            if next_agent is not None:
                self._end_agent(Outcome())
                agent = next_agent
                result.current_agent = agent
                tools_used = False
                self.emit(AgentUpdatedStreamEvent(new_agent=agent))
                continue
            if final is not _NO_FINAL:
                await self.finish(agent, final)
                return

    def _observe_guardrail(self, info: GuardrailInfo) -> GuardrailObservation:
        return (self.agent_observation or NOOP_AGENT).guardrail_started(info)

    def _end_agent(self, outcome: Outcome) -> None:
        observation, self.agent_observation = self.agent_observation, None
        if observation is not None:
            safe_call("AgentObservation.ended", observation.ended, None, outcome)

    def fail(self, error: BaseException) -> None:
        """Record a failure: attach run data, end the agent segment."""
        cancelled = isinstance(error, asyncio.CancelledError)
        try:
            self._end_agent(Outcome(error=error, cancelled=cancelled))
        except Exception as exc:  # strict mode: the run's own error wins; note the observer's
            error.__context__ = error.__context__ or exc
        if isinstance(error, AgentsException) and error.run_data is None:
            result = self.result
            error.run_data = RunErrorDetails(
                input=result.input, new_items=list(result.new_items), raw_responses=list(result.raw_responses),
                last_agent=result.current_agent, context_wrapper=result.context_wrapper,
                input_guardrail_results=list(result.input_guardrail_results),
                output_guardrail_results=list(result.output_guardrail_results),
            )

    # --- one model call --------------------------------------------------------------------------
    async def _model_turn(self, agent: Agent[Any], tools_used: bool) -> _Turn:
        result = self.result
        ctx = result.context_wrapper
        system_prompt = await agent.get_system_prompt(ctx)
        tools = await agent.get_all_tools(ctx)
        handoffs = await agent.get_enabled_handoffs(ctx)
        check_tool_names(agent, tools, handoffs)
        model = self.resolve_model(agent, self.run_config)
        if self.conversation is not None:
            refuse_output_guardrails_on_server_history(agent, self.run_config, model)
        settings = self.settings_for(agent, self.run_config)
        if tools_used and agent.reset_tool_choice and settings.tool_choice not in (None, "auto", "none"):
            settings = settings.resolve(ModelSettings(tool_choice="auto"))
        output_schema = output_schema_for(agent)
        conversation = self.conversation
        policy = self.run_config.reasoning_item_id_policy
        if conversation is not None:  # the server keeps the history: send only what it has not seen
            input_items = conversation.unsent(self.original_input, self.generated,
                                              lambda item: input_item_of(item, policy))
        else:
            input_items = ItemHelpers.input_to_new_input_list(self.original_input)
            input_items.extend(input_item_of(item, policy) for item in self.generated)
        filtered = await filter_model_input(self.run_config, agent, ctx, input_items, system_prompt)
        input_items, system_prompt = filtered.input, filtered.instructions
        ctx.turn_input = ItemHelpers.input_to_new_input_list(self.original_input)  # as the SDK sets it
        whole = not self.streamed and uses_own_get_response(model)
        agent_obs = self.agent_observation or NOOP_AGENT
        call_obs = safe_call(
            "model_call_started", agent_obs.model_call_started, NOOP_MODEL_CALL,
            ModelCallInfo(
                agent=agent, model=safe_call("Model.describe", model.describe, None) or _unknown_model(model),
                turn=result.current_turn, system_instructions=system_prompt, input=input_items,
                settings=settings, tools=tools, handoffs=handoffs,
                output_type=None if output_schema is None else output_schema.name(), stream=not whole,
            ),
        )
        no_headers: Mapping[str, str] = {}
        headers = safe_call("request_headers", call_obs.request_headers, no_headers)
        if headers:
            settings = settings._with_headers(headers)
        await _call_hook(self.hooks, "on_llm_start", ctx, agent, system_prompt, input_items)
        await _call_hook(agent.hooks, "on_llm_start", ctx, agent, system_prompt, input_items)
        request = ModelRequest(system_prompt, input_items, settings, tools, output_schema, handoffs, self.tracing,
                               prompt=await agent.get_prompt(ctx))
        if conversation is not None:
            request.previous_response_id = conversation.previous_response_id
            request.conversation_id = conversation.conversation_id
        try:
            if whole:
                response = await whole_response(model, request)
            else:
                response = await stream_model(model, request, call_obs, self.emit, HostedToolCalls(agent_obs, agent))
        except BaseException as exc:
            safe_call("ModelCallObservation.ended", call_obs.ended, None, None,
                      Outcome(error=exc, cancelled=isinstance(exc, asyncio.CancelledError)))
            raise
        ctx.usage.add(response.usage)
        safe_call("ModelCallObservation.ended", call_obs.ended, None, response, Outcome(usage=response.usage))
        turn = self._classify(agent, response, tools, handoffs)
        if conversation is not None:
            conversation.answered(response.response_id, turn.model_items)
        for item in turn.model_items:
            self.emit(RunItemStreamEvent(name=_ITEM_EVENT_NAMES[item.type], item=item))  # type: ignore[arg-type]
        await _call_hook(self.hooks, "on_llm_end", ctx, agent, response)
        await _call_hook(agent.hooks, "on_llm_end", ctx, agent, response)
        if turn.tool_runs or turn.handoff_runs:
            # Let a waiting consumer see the model's items before any tool runs, so that a cancel()
            # at tool_called really stops the tools (as in the Agents SDK).
            await asyncio.sleep(0)
        return turn

    def _classify(
        self, agent: Agent[Any], response: ModelResponse, tools: list[Tool], handoffs: list[Handoff]
    ) -> _Turn:
        turn = _Turn(response=response)
        tool_map = {tool.name: tool for tool in tools if isinstance(tool, FunctionTool)}
        handoff_map = {h.tool_name: h for h in handoffs}
        for raw in response.output:
            if isinstance(raw, ResponseOutputMessage):
                turn.messages.append(raw)
                turn.model_items.append(MessageOutputItem(agent=agent, raw_item=raw))
            elif isinstance(raw, ResponseReasoningItem):
                turn.model_items.append(ReasoningItem(agent=agent, raw_item=raw))
            elif isinstance(raw, HOSTED_CALL_TYPES):  # run by the server: nothing for us to execute
                turn.model_items.append(ToolCallItem(agent=agent, raw_item=raw))
            elif isinstance(raw, ResponseFunctionToolCall):
                if raw.name in handoff_map:
                    turn.model_items.append(HandoffCallItem(agent=agent, raw_item=raw))
                    turn.handoff_runs.append(HandoffRun(call=raw, handoff=handoff_map[raw.name]))
                    continue
                tool = tool_map.get(raw.name)
                if tool is None and self.run_config.tool_not_found_behavior != "return_error_to_model":
                    raise ModelBehaviorError(f"Tool {raw.name} not found in agent {agent.name}")
                turn.model_items.append(ToolCallItem(agent=agent, raw_item=raw))
                turn.tool_runs.append(ToolRun(call=raw, tool=tool))
        return turn

    # --- after the model call: tools, handoff, next step -----------------------------------------
    async def _finish_turn(self, agent: Agent[Any], turn: _Turn) -> tuple[Agent[Any] | None, Any]:
        result = self.result
        ctx = result.context_wrapper
        emit = self.emit
        try:
            tool_results = await run_function_tools(
                turn.tool_runs, agent=agent, context=ctx, hooks=self.hooks,
                observation=self.agent_observation or NOOP_AGENT,
                max_concurrency=self.run_config.max_function_tool_concurrency, run_config=self.run_config,
                guardrail_sink=result,
            )
        except FatalToolError as fatal:
            for finished in fatal.finished:
                emit(RunItemStreamEvent(name="tool_output", item=finished.run_item))
            raise fatal.error from fatal.error.__cause__
        runner_items: list[RunItem] = [r.run_item for r in tool_results]
        new_agent = None
        if turn.handoff_runs:
            first, extra = turn.handoff_runs[0], turn.handoff_runs[1:]
            runner_items.extend(ignored_handoff_outputs(extra, agent))
            new_agent, handoff_item = await execute_handoff(
                first, agent=agent, context=ctx, hooks=self.hooks,
                observation=self.agent_observation or NOOP_AGENT,
            )
            runner_items.append(handoff_item)
        turn_items = turn.model_items + runner_items
        result.raw_responses.append(turn.response)
        if new_agent is not None:
            after = await history_after_handoff(
                turn.handoff_runs[0].handoff, self.run_config, original_input=self.original_input,
                generated=self.generated, turn_items=turn_items, context=ctx,
                server_managed=self.conversation is not None,
            )
            self.original_input = result.input = after.original_input
            self.generated, turn_items = after.generated, after.turn_items
        else:
            self.generated.extend(turn_items)
        streamed = {id(item) for item in turn.model_items}
        for item in turn_items:
            if id(item) not in streamed:  # the model's items were streamed as they arrived
                name = "handoff_occured" if item.type == "handoff_output_item" else "tool_output"
                emit(RunItemStreamEvent(name=name, item=item))  # type: ignore[arg-type]
        if new_agent is None and not tool_results:
            return None, await final_or_handled(self, agent, turn.messages, turn_items)
        result.new_items.extend(turn_items)
        if new_agent is not None:
            return new_agent, _NO_FINAL
        return None, await tool_use_decision(agent, self.result.context_wrapper, tool_results)

    async def finish(self, agent: Agent[Any], final: Any) -> None:
        """End the run with ``final``: end hooks, then the output guardrails, as in the SDK."""
        result = self.result
        hook_ctx = AgentHookContext.of(result.context_wrapper)
        await _call_hook(self.hooks, "on_agent_end", hook_ctx, agent, final)
        await _call_hook(agent.hooks, "on_end", hook_ctx, agent, final)
        await run_output_guardrails(
            list(agent.output_guardrails) + list(self.run_config.output_guardrails or []), agent, final,
            result.context_wrapper, result.output_guardrail_results, self._observe_guardrail,
        )
        await self.session.save_new(result.new_items)
        result.final_output = final
        self._end_agent(Outcome(output=final))


def _own_settings(agent: Agent[Any], run_config: RunConfig) -> ModelSettings:
    return agent.model_settings.resolve(run_config.model_settings)


def _discard(event: Any) -> None:
    return None


def _unknown_model(model: Model) -> Any:
    from .models.interface import ModelInfo

    return ModelInfo(request_model=type(model).__name__)


async def _call_hook(hooks: Any, name: str, *args: Any) -> None:
    if hooks is None:
        return
    method = getattr(hooks, name, None)
    if method is None:
        return
    value = method(*args)
    if inspect.isawaitable(value):
        await value
