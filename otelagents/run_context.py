"""The context object handed to tools, instructions callables and hooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .usage import Usage

if TYPE_CHECKING:
    from .agent import Agent

TContext = TypeVar("TContext")


@dataclass
class RunContextWrapper(Generic[TContext]):
    """Wraps the user's ``context`` object; also carries the run's cumulative ``usage``."""

    context: TContext
    usage: Usage = field(default_factory=Usage)
    turn_input: list[Any] = field(default_factory=list)


@dataclass
class AgentHookContext(RunContextWrapper[TContext]):
    """The context agent start/end hooks receive (``turn_input``: the run's input for this turn)."""

    @classmethod
    def of(cls, ctx: RunContextWrapper[TContext]) -> AgentHookContext[TContext]:
        return cls(context=ctx.context, usage=ctx.usage, turn_input=list(ctx.turn_input))


@dataclass
class ToolContext(RunContextWrapper[TContext]):
    """The context a tool receives: the run context plus which call this is."""

    tool_name: str = ""
    tool_call_id: str = ""
    tool_arguments: str = ""
    agent: Agent[Any] | None = None
    # Set when the tool raised and its error was reported to the model as the output (not in the
    # Agents SDK; lets observers count handled tool errors).
    tool_error: BaseException | None = None

    @classmethod
    def from_run_context(
        cls,
        ctx: RunContextWrapper[TContext],
        *,
        tool_name: str,
        tool_call_id: str,
        tool_arguments: str,
        agent: Agent[Any] | None,
    ) -> ToolContext[TContext]:
        return cls(
            context=ctx.context,
            usage=ctx.usage,
            turn_input=ctx.turn_input,
            tool_name=tool_name,
            tool_call_id=tool_call_id,
            tool_arguments=tool_arguments,
            agent=agent,
        )
