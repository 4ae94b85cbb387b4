"""The context object handed to tools, instructions callables and hooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .usage import Usage

if TYPE_CHECKING:
    from .tool_context import ToolContext as ToolContext  # importable from here too (see __getattr__)

TContext = TypeVar("TContext")


@dataclass
class RunContextWrapper(Generic[TContext]):
    """Wraps the user's ``context`` object; also carries the run's cumulative ``usage``."""

    context: TContext
    usage: Usage = field(default_factory=Usage)
    turn_input: list[Any] = field(default_factory=list)
    tool_input: Any = None  # the structured input of an agent run as a tool, as in the SDK


@dataclass
class AgentHookContext(RunContextWrapper[TContext]):
    """The context agent start/end hooks receive (``turn_input``: the run's input for this turn)."""

    @classmethod
    def of(cls, ctx: RunContextWrapper[TContext]) -> AgentHookContext[TContext]:
        return cls(context=ctx.context, usage=ctx.usage, turn_input=list(ctx.turn_input))


def __getattr__(name: str) -> Any:
    # ToolContext lives in otelagents.tool_context (as in the SDK); kept importable from here too.
    if name == "ToolContext":
        from .tool_context import ToolContext

        return ToolContext
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
