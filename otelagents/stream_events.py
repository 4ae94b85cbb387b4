"""The three events ``RunResultStreaming.stream_events()`` yields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Union

from openai.types.responses import ResponseStreamEvent

from .items import RunItem

if TYPE_CHECKING:
    from .agent import Agent


@dataclass
class RawResponsesStreamEvent:
    """A model event, forwarded unchanged (an ``openai`` ``ResponseStreamEvent``)."""

    data: ResponseStreamEvent
    type: Literal["raw_response_event"] = "raw_response_event"


RunItemEventName = Literal[
    "message_output_created",
    "handoff_requested",
    "handoff_occured",  # sic: the Agents SDK's spelling, kept for compatibility
    "tool_called",
    "tool_output",
    "reasoning_item_created",
    "tool_search_called",
    "tool_search_output_created",
    "mcp_approval_requested",
    "mcp_approval_response",
    "mcp_list_tools",
]


@dataclass
class RunItemStreamEvent:
    """A run item was completed: a message, a tool call, a tool output, a handoff."""

    name: RunItemEventName
    item: RunItem
    type: Literal["run_item_stream_event"] = "run_item_stream_event"


@dataclass
class AgentUpdatedStreamEvent:
    """The current agent changed (at the start of a run and after each handoff)."""

    new_agent: Agent[Any]
    type: Literal["agent_updated_stream_event"] = "agent_updated_stream_event"


StreamEvent = Union[RawResponsesStreamEvent, RunItemStreamEvent, AgentUpdatedStreamEvent]
