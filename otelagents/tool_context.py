"""``ToolContext``: the context a function tool receives, as in the Agents SDK's ``agents.tool_context``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openai.types.responses import ResponseFunctionToolCall

from .run_context import RunContextWrapper, TContext
from .usage import Usage

if TYPE_CHECKING:
    from .agent import Agent
    from .run_config import RunConfig

_MISSING: Any = object()


def _required(name: str, value: Any) -> Any:
    if value is _MISSING:
        raise ValueError(f"{name} must be passed to ToolContext")
    return value


@dataclass(init=False)
class ToolContext(RunContextWrapper[TContext]):
    """The run context plus which call this is: ``tool_name``, ``tool_call_id``, ``tool_arguments``,
    the raw ``tool_call``, the calling ``agent`` and the run's ``run_config``.

    The constructor takes the SDK's positional order
    ``(context, usage, tool_name, tool_call_id, tool_arguments, tool_call)``."""

    tool_name: str = ""
    tool_call_id: str = ""
    tool_arguments: str = ""
    tool_call: ResponseFunctionToolCall | None = None
    tool_namespace: str | None = None
    agent: Agent[Any] | None = None
    run_config: RunConfig | None = None
    # Set when the tool raised and its error was reported to the model as the output (not in the
    # Agents SDK; lets observers count handled tool errors).
    tool_error: BaseException | None = field(default=None, repr=False)

    def __init__(
        self,
        context: TContext,
        usage: Usage | Any = _MISSING,
        tool_name: str | Any = _MISSING,
        tool_call_id: str | Any = _MISSING,
        tool_arguments: str | Any = _MISSING,
        tool_call: ResponseFunctionToolCall | None = None,
        *,
        tool_namespace: str | None = None,
        agent: Agent[Any] | None = None,
        run_config: RunConfig | dict[str, Any] | None = None,
        turn_input: list[Any] | None = None,
        tool_input: Any = None,
    ) -> None:
        super().__init__(context=context, usage=Usage() if usage is _MISSING else usage,
                         turn_input=list(turn_input or []), tool_input=tool_input)
        self.tool_name = _required("tool_name", tool_name)
        self.tool_call_id = _required("tool_call_id", tool_call_id)
        self.tool_arguments = _required("tool_arguments", tool_arguments)
        self.tool_call = tool_call
        namespace = getattr(tool_call, "namespace", None)
        self.tool_namespace = tool_namespace if isinstance(tool_namespace, str) else (
            namespace if isinstance(namespace, str) else None)
        self.agent = agent
        if isinstance(run_config, dict):
            from .run_config import RunConfig

            run_config = RunConfig.coerce(run_config)
        self.run_config = run_config
        self.tool_error = None

    @property
    def qualified_tool_name(self) -> str:
        return f"{self.tool_namespace}.{self.tool_name}" if self.tool_namespace else self.tool_name

    @classmethod
    def from_agent_context(
        cls,
        context: RunContextWrapper[TContext],
        tool_call_id: str,
        tool_call: ResponseFunctionToolCall | None = None,
        agent: Agent[Any] | None = None,
        *,
        tool_name: str | None = None,
        tool_arguments: str | None = None,
        tool_namespace: str | None = None,
        run_config: RunConfig | dict[str, Any] | None = None,
    ) -> ToolContext[TContext]:
        """A tool context sharing ``context``'s user context, usage and turn input (as in the SDK)."""
        name = tool_name if tool_name is not None else (tool_call.name if tool_call is not None else _MISSING)
        arguments = tool_arguments if tool_arguments is not None else (
            tool_call.arguments if tool_call is not None else _MISSING)
        if agent is None and isinstance(context, ToolContext):
            agent = context.agent
        if run_config is None and isinstance(context, ToolContext):
            run_config = context.run_config
        made = cls(context.context, context.usage, name, tool_call_id, arguments, tool_call,
                   tool_namespace=tool_namespace, agent=agent, run_config=run_config,
                   tool_input=context.tool_input)
        made.turn_input = context.turn_input
        return made

    @classmethod
    def from_run_context(
        cls,
        ctx: RunContextWrapper[TContext],
        *,
        tool_name: str,
        tool_call_id: str,
        tool_arguments: str,
        agent: Agent[Any] | None,
        tool_call: ResponseFunctionToolCall | None = None,
        run_config: RunConfig | None = None,
    ) -> ToolContext[TContext]:
        """The context for one call of the run's tool (otelagents' own spelling, kept for callers)."""
        return cls.from_agent_context(ctx, tool_call_id, tool_call, agent, tool_name=tool_name,
                                      tool_arguments=tool_arguments, run_config=run_config)
