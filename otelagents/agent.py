"""``Agent``: a model with instructions, tools and handoffs."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, Union

from typing_extensions import TypedDict

from ._agent_tool import AgentToolStreamEvent
from ._hosted_tools import HOSTED_TOOLS
from .exceptions import UserError
from .handoffs import Handoff
from .model_settings import ModelSettings
from .run_context import RunContextWrapper, TContext
from .tool import FunctionTool, FunctionToolResult, Tool, ToolErrorFunction, default_tool_error_function

if TYPE_CHECKING:
    from .agent_tool_input import StructuredToolInputBuilder
    from .guardrail import InputGuardrail, OutputGuardrail
    from .lifecycle import RunHooks
    from .memory.session import Session
    from .models.interface import Model
    from .prompts import DynamicPromptFunction, Prompt
    from .run_config import RunConfig


@dataclass
class ToolsToFinalOutputResult:
    is_final_output: bool
    final_output: Any = None


class StopAtTools(TypedDict):
    stop_at_tool_names: list[str]


ToolsToFinalOutputFunction = Callable[
    [RunContextWrapper[Any], list[FunctionToolResult]],
    ToolsToFinalOutputResult | Awaitable[ToolsToFinalOutputResult],
]

Instructions = Union[
    str, Callable[[RunContextWrapper[Any], "Agent[Any]"], str | Awaitable[str]], None
]


@dataclass
class Agent(Generic[TContext]):
    """An agent: instructions, a model, tools and the agents it may hand off to."""

    name: str
    instructions: Instructions = None
    handoff_description: str | None = None
    handoffs: list[Agent[Any] | Handoff] = field(default_factory=list)
    model: str | Model | None = None
    model_settings: ModelSettings = field(default_factory=lambda: _implicit_settings(None))
    tools: list[Tool] = field(default_factory=list)
    output_type: type[Any] | None = None
    tool_use_behavior: (
        Literal["run_llm_again", "stop_on_first_tool"] | StopAtTools | ToolsToFinalOutputFunction
    ) = "run_llm_again"
    reset_tool_choice: bool = True
    input_guardrails: list[InputGuardrail[Any]] = field(default_factory=list)
    output_guardrails: list[OutputGuardrail[Any]] = field(default_factory=list)
    hooks: Any = None
    # A prompt stored on the OpenAI platform (sent with each Responses call), as in the SDK.
    prompt: Prompt | DynamicPromptFunction | None = None
    # MCP is not supported by otelagents' runner: setting these raises UserError (see _check_mcp).
    mcp_servers: list[Any] = field(default_factory=list)
    mcp_config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise UserError(f"Agent name must be a non-empty string, got {self.name!r}")
        if callable(self.instructions):
            params = inspect.signature(self.instructions).parameters
            if len(params) != 2:
                raise TypeError(
                    f"Agent {self.name!r}: an instructions function must take exactly 2 arguments "
                    f"(context, agent), but it takes {len(params)}"
                )
        elif self.instructions is not None and not isinstance(self.instructions, str):
            raise UserError(
                f"Agent {self.name!r}: instructions must be a string, a function (ctx, agent) or None, "
                f"not {type(self.instructions).__name__}"
            )
        for tool in self.tools:
            if not isinstance(tool, (FunctionTool, *HOSTED_TOOLS)):
                raise UserError(
                    f"Agent {self.name!r}: {tool!r} is not a tool; decorate functions with @function_tool "
                    "(hosted tools: WebSearchTool, FileSearchTool, CodeInterpreterTool, ImageGenerationTool)"
                )
        _check_guardrails(self)
        _check_mcp(self)
        if self.model is not None and self.model_settings == _implicit_settings(None):
            self.model_settings = _implicit_settings(self.model)  # as the SDK: defaults for the named model
        for target in self.handoffs:
            if not isinstance(target, (Agent, Handoff)):
                raise UserError(
                    f"Agent {self.name!r}: handoffs must be Agents or handoff(...) objects, "
                    f"not {type(target).__name__}"
                )

    async def get_prompt(self, run_context: RunContextWrapper[TContext]) -> dict[str, Any] | None:
        """The prompt to send with this agent's model calls (``prompt`` resolved for this run)."""
        from .prompts import PromptUtil

        return await PromptUtil.to_model_input(self.prompt, run_context, self)

    def clone(self, **changes: Any) -> Agent[TContext]:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def as_tool(
        self,
        tool_name: str | None,
        tool_description: str | None,
        custom_output_extractor: Callable[[Any], Awaitable[str]] | None = None,
        is_enabled: bool | Callable[[RunContextWrapper[Any], Any], bool | Awaitable[bool]] = True,
        on_stream: Callable[[AgentToolStreamEvent], Any] | None = None,
        run_config: RunConfig | dict[str, Any] | None = None,
        max_turns: int | None = None,
        hooks: RunHooks[TContext] | None = None,
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
        """This agent as a tool other agents can call: a nested run on the ``input`` the model writes, whose
        final output (or ``custom_output_extractor(result)``) is the tool's output. ``on_stream`` receives the
        nested run's events. ``parameters`` (a dataclass or pydantic model) gives the tool a structured input,
        shown to the nested agent by ``input_builder`` (``include_input_schema`` adds the schema). Human
        approval (``needs_approval``) raises ``UserError``."""
        from ._agent_tool import agent_as_tool

        return agent_as_tool(
            self, tool_name, tool_description, custom_output_extractor, is_enabled, on_stream, run_config,
            max_turns, hooks, previous_response_id, conversation_id, session, failure_error_function,
            needs_approval, parameters, input_builder, include_input_schema, on_stream_max_pending_events,
        )

    async def get_system_prompt(self, ctx: RunContextWrapper[TContext]) -> str | None:
        """The instructions for this turn (a callable is invoked every turn)."""
        if self.instructions is None or isinstance(self.instructions, str):
            return self.instructions
        value = self.instructions(ctx, self)
        if inspect.isawaitable(value):
            value = await value
        if value is not None and not isinstance(value, str):
            raise UserError(
                f"Agent {self.name!r}: the instructions function returned {type(value).__name__}, not str"
            )
        return value

    async def get_all_tools(self, ctx: RunContextWrapper[Any]) -> list[Tool]:
        """The tools that are enabled for this turn."""
        return [tool for tool in self.tools if await _enabled(getattr(tool, "is_enabled", True), ctx, self)]

    async def get_enabled_handoffs(self, ctx: RunContextWrapper[Any]) -> list[Handoff]:
        from .handoffs import handoff

        result = []
        _check_guardrails(self)
        if self.model is not None and self.model_settings == _implicit_settings(None):
            self.model_settings = _implicit_settings(self.model)  # as the SDK: defaults for the named model
        for target in self.handoffs:
            item = target if isinstance(target, Handoff) else handoff(target)
            if await _enabled(item.is_enabled, ctx, self):
                result.append(item)
        return result


def _check_guardrails(agent: Agent[Any]) -> None:
    from .guardrail import InputGuardrail, OutputGuardrail

    for field_name, kind, decorator in (("input_guardrails", InputGuardrail, "@input_guardrail"),
                                        ("output_guardrails", OutputGuardrail, "@output_guardrail")):
        for guardrail in getattr(agent, field_name):
            if not isinstance(guardrail, kind):
                raise UserError(
                    f"Agent {agent.name!r}: {field_name} must hold {kind.__name__} objects, not "
                    f"{type(guardrail).__name__}; decorate the function with {decorator}"
                )


async def _enabled(flag: Any, ctx: RunContextWrapper[Any], agent: Agent[Any]) -> bool:
    if isinstance(flag, bool):
        return flag
    value = flag(ctx, agent)
    if inspect.isawaitable(value):
        value = await value
    return bool(value)


def _check_mcp(agent: Agent[Any]) -> None:
    if agent.mcp_servers or agent.mcp_config:
        raise UserError(
            f"Agent {agent.name!r}: MCP servers (mcp_servers / mcp_config) are not supported by otelagents' "
            "runner. Run the Agents SDK itself with the telemetry plugin: `from otelagents.instrumentation "
            "import OpenAIAgentsInstrumentor; OpenAIAgentsInstrumentor().instrument()`."
        )


def _implicit_settings(model: str | Model | None) -> ModelSettings:
    """The settings an agent gets when it sets none: the SDK's defaults for its model name."""
    from .models.default_models import get_default_model_settings

    if model is None or isinstance(model, str):
        return get_default_model_settings(model)
    return ModelSettings()


def __getattr__(name: str) -> Any:
    # An Agents SDK name otelagents does not offer: say so, and what to use instead.
    from ._unsupported import sdk_only

    raise sdk_only(name, __name__) or AttributeError(f"module {__name__!r} has no attribute {name!r}")
