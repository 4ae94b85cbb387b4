"""Hosted tool calls seen in a model's stream, reported as tool calls through the observer.

OpenAI runs hosted tools (web search, file search, code interpreter, image generation, hosted MCP) on its
side during a Responses call: nothing of ours executes them, so the only view of one is its output item
in the stream, from ``response.output_item.added`` to ``response.output_item.done``. Both front doors
(the runner's stream and the Agents SDK plugin's model wrapper) feed their stream's item events here, so
the two report hosted tools the same way: ``AgentObservation.tool_started`` with the tool's
``gen_ai.tool.type``, ended when the item is done (failed when its status says so), or with the stream.
No OpenTelemetry here: this sits on the observer interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ._observing import observer_failed, safe_call
from .observer import Outcome, ToolCallInfo

if TYPE_CHECKING:
    from .observer import AgentObservation, ToolObservation

ITEM_ADDED = "response.output_item.added"
ITEM_DONE = "response.output_item.done"
# Output item type -> (tool name, gen_ai.tool.type); a hosted MCP call is named by its item.
HOSTED_ITEM_TYPES = {
    "web_search_call": ("web_search", "extension"),
    "file_search_call": ("file_search", "datastore"),
    "code_interpreter_call": ("code_interpreter", "extension"),
    "image_generation_call": ("image_generation", "extension"),
    "mcp_call": ("mcp_call", "extension"),
}


class HostedToolError(Exception):
    """A hosted tool call whose output item ended ``failed`` or ``incomplete`` (its ``error.type``)."""


@dataclass(frozen=True)
class HostedToolRef:
    """What an observer reads of a hosted tool: its name (there is no description on the wire)."""

    name: str
    description: str | None = None


class HostedToolCalls:
    """The hosted tool calls of one model call, each a tool observation of ``agent_obs`` for ``agent``."""

    __slots__ = ("_agent", "_agent_obs", "_open")

    def __init__(self, agent_obs: AgentObservation, agent: Any) -> None:
        self._agent_obs = agent_obs
        self._agent = agent
        self._open: dict[str, ToolObservation] = {}

    def seen(self, kind: str, item: Any) -> None:
        """An output item was added or done (``kind`` is the event's type); other items are ignored."""
        try:
            self._seen(kind, item)
        except Exception as exc:
            observer_failed("hosted tool call", exc)

    def _seen(self, kind: str, item: Any) -> None:
        known = HOSTED_ITEM_TYPES.get(str(getattr(item, "type", "")))
        item_id = str(getattr(item, "id", "") or "")
        if known is None or not item_id:
            return
        if kind == ITEM_ADDED:
            if item_id not in self._open:
                name, tool_type = known
                ref = HostedToolRef(str(getattr(item, "name", None) or name))
                info = ToolCallInfo(self._agent, cast(Any, ref), item_id, "", tool_type)
                self._open[item_id] = self._agent_obs.tool_started(info)
            return
        observation = self._open.pop(item_id, None)
        if observation is not None:
            status = getattr(item, "status", None)
            failed = status in ("failed", "incomplete")
            outcome = Outcome(error=HostedToolError(f"hosted tool call {item_id} ended {status}")) if failed \
                else Outcome()
            safe_call("ToolObservation.ended", observation.ended, None, outcome)

    def end_all(self, outcome: Outcome) -> None:
        """The stream ended: calls still open end with the stream's outcome."""
        for observation in self._open.values():
            safe_call("ToolObservation.ended", observation.ended, None, outcome)
        self._open.clear()
