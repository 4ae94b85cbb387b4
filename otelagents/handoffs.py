"""Handoffs: a tool that, when the model calls it, passes the conversation to another agent."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from ._strict_schema import ensure_strict_json_schema
from .exceptions import ModelBehaviorError, UserError
from .items import RunItem, TResponseInputItem
from .run_context import RunContextWrapper

if TYPE_CHECKING:
    from .agent import Agent


@dataclass(frozen=True)
class HandoffInputData:
    """What the next agent will see; an ``input_filter`` may return a changed copy."""

    input_history: str | tuple[TResponseInputItem, ...]
    pre_handoff_items: tuple[RunItem, ...]
    new_items: tuple[RunItem, ...]
    run_context: RunContextWrapper[Any] | None = None
    # When set, the next agent's model input uses these instead of ``new_items`` (which still go to
    # the result and the session), as in the Agents SDK.
    input_items: tuple[RunItem, ...] | None = None

    def clone(self, **changes: Any) -> HandoffInputData:
        import dataclasses

        return dataclasses.replace(self, **changes)


HandoffInputFilter = Callable[[HandoffInputData], HandoffInputData | Awaitable[HandoffInputData]]


@dataclass
class Handoff:
    tool_name: str
    tool_description: str
    input_json_schema: dict[str, Any]
    on_invoke_handoff: Callable[[RunContextWrapper[Any], str], Awaitable[Agent[Any]]]
    agent_name: str
    input_filter: HandoffInputFilter | None = None
    strict_json_schema: bool = True
    is_enabled: bool | Callable[[RunContextWrapper[Any], Any], bool | Awaitable[bool]] = True
    agent: Agent[Any] | None = field(default=None, repr=False)
    # Overrides RunConfig.nest_handoff_history for this handoff (None: use the run's setting).
    nest_handoff_history: bool | None = None

    def get_transfer_message(self, agent: Agent[Any]) -> str:
        return json.dumps({"assistant": agent.name})

    @classmethod
    def default_tool_name(cls, agent: Agent[Any]) -> str:
        return "transfer_to_" + re.sub(r"[^A-Za-z0-9_]", "_", agent.name).lower()

    @classmethod
    def default_tool_description(cls, agent: Agent[Any]) -> str:
        return f"Handoff to the {agent.name} agent to handle the request. {agent.handoff_description or ''}"


def handoff(
    agent: Agent[Any],
    tool_name_override: str | None = None,
    tool_description_override: str | None = None,
    on_handoff: Callable[..., Any] | None = None,
    input_type: type[Any] | None = None,
    input_filter: HandoffInputFilter | None = None,
    is_enabled: bool | Callable[[RunContextWrapper[Any], Any], bool | Awaitable[bool]] = True,
    nest_handoff_history: bool | None = None,
) -> Handoff:
    """Describe a handoff to ``agent``, with an optional callback and input type."""
    if input_filter is not None and not callable(input_filter):
        raise UserError(f"Invalid input filter: {input_filter!r} is not callable")
    if input_type is not None and on_handoff is None:
        raise UserError("handoff(input_type=...) needs on_handoff(ctx, input) to receive the parsed input")
    if on_handoff is not None:
        arity = len(inspect.signature(on_handoff).parameters)
        wanted = 2 if input_type is not None else 1
        if arity != wanted:
            raise UserError(
                f"on_handoff must take {wanted} argument(s) "
                f"({'ctx, input' if wanted == 2 else 'ctx'}), it takes {arity}"
            )
    adapter: TypeAdapter[Any] | None = TypeAdapter(input_type) if input_type is not None else None
    schema = (
        ensure_strict_json_schema(adapter.json_schema())
        if adapter is not None
        else {"additionalProperties": False, "type": "object", "properties": {}, "required": []}
    )
    tool_name = tool_name_override or Handoff.default_tool_name(agent)

    async def invoke(ctx: RunContextWrapper[Any], args_json: str) -> Agent[Any]:
        if adapter is not None and on_handoff is not None:
            if args_json is None:
                raise ModelBehaviorError("Handoff function expected non-null input, but got None")
            try:  # strict, as in the SDK: "5" is not an int, 1 is not a string
                parsed = adapter.validate_json(args_json, strict=True)
            except ValidationError as exc:
                raise ModelBehaviorError(f"Invalid JSON input for handoff {tool_name}: {exc}") from exc
            result = on_handoff(ctx, parsed)
        elif on_handoff is not None:
            result = on_handoff(ctx)
        else:
            result = None
        if inspect.isawaitable(result):
            await result
        return agent

    return Handoff(
        tool_name=tool_name,
        tool_description=tool_description_override or Handoff.default_tool_description(agent),
        input_json_schema=schema,
        on_invoke_handoff=invoke,
        agent_name=agent.name,
        input_filter=input_filter,
        is_enabled=is_enabled,
        agent=agent,
        nest_handoff_history=nest_handoff_history,
    )


_NESTING = ("nest_handoff_history", "default_handoff_history_mapper", "get_conversation_history_wrappers",
            "set_conversation_history_wrappers", "reset_conversation_history_wrappers", "HandoffHistoryMapper")


def __getattr__(name: str) -> Any:
    # The history nesting lives in _handoff_nesting (which needs HandoffInputData from here).
    if name in _NESTING:
        from . import _handoff_nesting

        return getattr(_handoff_nesting, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
