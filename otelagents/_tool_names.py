"""One name, one tool: the names the model sees for an agent's tools and handoffs must be distinct.

The model calls a tool by name. Two tools with the same name, a tool named like a handoff, or two handoffs
whose tool names come out the same (``"Sales Team"`` and ``"sales-team"`` both give
``transfer_to_sales_team``; names in other scripts all give ``transfer_to___``...) would be resolved to one
of them silently. ``check_tool_names`` raises ``UserError`` naming both instead, when a turn's tools are
assembled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .exceptions import UserError

__all__ = ["check_tool_names"]


def _describe_tool(tool: Any, index: int) -> str:
    function = getattr(tool, "on_invoke_tool", None)
    origin = getattr(function, "__qualname__", None)
    kind = type(tool).__name__
    return f"tools[{index}] ({kind}{f' from {origin}' if origin and '<locals>' not in origin else ''})"


def _describe_handoff(handoff: Any) -> str:
    return f"the handoff to agent {handoff.agent_name!r}"


def _hint(name: str) -> str:
    if name.startswith("transfer_to_") and not name[len("transfer_to_"):].strip("_"):
        return (" (handoff tool names keep only ASCII letters, digits and '_' from the agent's name: "
                "other characters become '_')")
    return ""


def check_tool_names(agent: Any, tools: Sequence[Any], handoffs: Sequence[Any]) -> None:
    """Raise ``UserError`` when two of ``agent``'s tools or handoffs would reach the model with one name."""
    seen: dict[str, str] = {}
    for index, tool in enumerate(tools):
        name = getattr(tool, "name", None)
        if not isinstance(name, str):
            continue
        this = _describe_tool(tool, index)
        if name in seen:
            raise UserError(
                f"Agent {agent.name!r} has two tools named {name!r}: {seen[name]} and {this}. The model calls "
                "tools by name, so one would never run; give one another name "
                "(@function_tool(name_override=...))."
            )
        seen[name] = this
    for handoff in handoffs:
        name = handoff.tool_name
        this = _describe_handoff(handoff)
        if name in seen:
            fix = ("give one handoff(agent, tool_name_override=...)" if seen[name].startswith("the handoff")
                   else "rename the tool, or use handoff(agent, tool_name_override=...)")
            raise UserError(
                f"Agent {agent.name!r}: {seen[name]} and {this} both reach the model as the tool "
                f"{name!r}{_hint(name)}, so one would never be called; {fix}."
            )
        seen[name] = this
