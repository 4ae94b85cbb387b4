"""The import paths SDK code uses for guardrails, sessions, tool guardrails, hosted tools and agents as tools
work unchanged with ``otelagents`` (the general check over every module is ``test_sdk_submodules``)."""

from __future__ import annotations

import importlib

import pytest

agents = pytest.importorskip("agents", reason="the Agents SDK is installed by the test extra")


@pytest.mark.parametrize(("path", "names"), [
    ("memory", ["Session", "SessionABC", "SessionSettings", "SQLiteSession"]),
    ("memory.sqlite_session", ["SQLiteSession"]),
    ("guardrail", ["GuardrailFunctionOutput", "InputGuardrail", "OutputGuardrail", "input_guardrail",
                   "output_guardrail", "InputGuardrailResult", "OutputGuardrailResult"]),
    ("tool_guardrails", ["ToolGuardrailFunctionOutput", "ToolInputGuardrail", "ToolOutputGuardrail",
                         "tool_input_guardrail", "tool_output_guardrail", "ToolInputGuardrailData"]),
    ("tool", ["WebSearchTool", "FileSearchTool", "CodeInterpreterTool", "ImageGenerationTool", "function_tool"]),
    ("exceptions", ["InputGuardrailTripwireTriggered", "OutputGuardrailTripwireTriggered",
                    "ToolInputGuardrailTripwireTriggered", "ToolOutputGuardrailTripwireTriggered"]),
    ("decorators", ["function_tool", "input_guardrail", "output_guardrail", "tool_input_guardrail", "tool"]),
    ("agent", ["Agent", "AgentToolStreamEvent"]),
])
def test_the_paths_sdk_code_imports_from(path: str, names: list[str]) -> None:
    theirs, ours = importlib.import_module(f"agents.{path}"), importlib.import_module(f"otelagents.{path}")
    for name in names:
        assert hasattr(theirs, name), f"agents.{path}.{name} (test list is wrong)"
        assert hasattr(ours, name), f"otelagents.{path}.{name}"
