"""``gen_ai.tool.definitions``: the tools a model call offered, handoffs included (content capture only).

The GenAI conventions define it as an opt-in attribute following their Tool Definitions schema: a list of
``{"type", "name", "description"?, "parameters"?}`` objects, recorded on spans as a JSON string. A handoff
is offered to the model as a function (``transfer_to_<agent>``), so it is listed like one: the definitions
show which agents this one could hand off to. Hosted tools (web search, ...) carry their type and name only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from otelagents.tool import FunctionTool


def tool_definitions(tools: Iterable[Any], handoffs: Iterable[Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for tool in tools:
        if isinstance(tool, FunctionTool):
            found.append(_function(tool.name, tool.description, tool.params_json_schema))
        elif isinstance(getattr(tool, "name", None), str):
            found.append({"type": str(tool.name), "name": str(tool.name)})
    for handoff in handoffs:
        name = getattr(handoff, "tool_name", None)
        if isinstance(name, str):
            found.append(_function(name, getattr(handoff, "tool_description", None),
                                   getattr(handoff, "input_json_schema", None)))
    return found


def _function(name: str, description: Any, parameters: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "function", "name": name}
    if isinstance(description, str) and description:
        entry["description"] = description
    if isinstance(parameters, dict) and parameters:
        entry["parameters"] = parameters
    return entry
