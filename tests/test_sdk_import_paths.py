"""Porting is a search-and-replace of ``agents`` by ``otelagents`` in import lines: every public name otelagents
shares with the real ``openai-agents==0.24.0`` is importable from the same module path."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import otelagents

agents = pytest.importorskip("agents", reason="the Agents SDK is installed by the test extra")

# SDK packages outside what otelagents offers (the plugin is the way to use them with otelagents).
_OUT_OF_SCOPE = ("realtime", "voice", "extensions", "sandbox", "mcp", "tracing", "run_internal", "util", "testing")


def _sdk_modules() -> list[ModuleType]:
    found = []
    for info in pkgutil.walk_packages(agents.__path__, "agents."):
        parts = info.name.split(".")[1:]
        if any(part.startswith("_") or part in _OUT_OF_SCOPE for part in parts):
            continue
        try:
            found.append(importlib.import_module(info.name))
        except ImportError:  # an optional dependency of the SDK that is not installed
            continue
    return found


def _shared_public_names() -> set[str]:
    return set(otelagents.__all__) & set(agents.__all__)


def test_each_shared_name_lives_where_the_sdk_defines_it() -> None:
    missing = []
    for name in sorted(_shared_public_names()):
        module = getattr(getattr(agents, name), "__module__", None)
        if not isinstance(module, str) or not module.startswith("agents.") or name in ("Tool", "TResponseInputItem"):
            continue
        ours = importlib.import_module("otel" + module)
        if not hasattr(ours, name):
            missing.append(f"{name} (from {module})")
    assert missing == []


def test_each_sdk_module_all_is_importable_from_the_same_path() -> None:
    shared = set(otelagents.__all__)
    missing = []
    for module in _sdk_modules():
        names = sorted(set(getattr(module, "__all__", ())) & shared)
        if not names:
            continue
        ours = importlib.import_module("otel" + module.__name__)
        missing.extend(f"{module.__name__}.{name}" for name in names if not hasattr(ours, name))
    assert missing == []


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
