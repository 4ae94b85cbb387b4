"""Imports port by search-and-replace (issue 16): every public name otelagents offers is importable from
the module path the real ``openai-agents==0.24.0`` uses, and an SDK name otelagents does not offer raises
a ``UserError`` that names it and the SDK plugin, not a bare ``ImportError``."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import otelagents
from otelagents import UserError

from .sdk_parity import agents

# SDK subpackages otelagents does not mirror (realtime, voice, sandboxes, MCP, its tracing API, ...).
_NOT_MIRRORED = ("realtime", "voice", "sandbox", "extensions", "mcp", "tracing", "repl", "computer", "editor",
                 "apply_diff", "util", "run_internal", "testing")


def _sdk_modules() -> list[str]:
    names = ["agents"]
    for package in ("agents", "agents.models", "agents.memory"):
        module = importlib.import_module(package)
        names += [f"{package}.{m.name}" for m in pkgutil.iter_modules(module.__path__) if not m.name.startswith("_")]
    return [n for n in names if not any(part in _NOT_MIRRORED for part in n.split(".")[1:])]


def _defined_in(module_name: str) -> list[str]:
    """Names otelagents offers that the SDK defines (or lists in __all__) in ``module_name``."""
    try:
        module = importlib.import_module(module_name)
    except Exception:  # noqa: BLE001 - an SDK module with optional dependencies
        return []
    listed = set(getattr(module, "__all__", []))
    return sorted(
        name for name in otelagents.__all__
        if hasattr(module, name)
        and (getattr(getattr(module, name), "__module__", None) == module_name or name in listed)
    )


CASES = [(m, n) for m in _sdk_modules() for n in _defined_in(m)]


def test_the_scan_covers_the_modules_users_import_from() -> None:
    modules = {m for m, _ in CASES}
    for expected in ("agents.items", "agents.tool_context", "agents.run_context", "agents.lifecycle",
                     "agents.exceptions", "agents.run_error_handlers", "agents.run_config",
                     "agents.models.interface", "agents.decorators", "agents.tool"):
        assert expected in modules
    assert len(CASES) > 100


@pytest.mark.parametrize(("sdk_module", "name"), CASES)
def test_every_public_name_is_importable_from_the_sdks_module_path(sdk_module: str, name: str) -> None:
    ours = importlib.import_module("otelagents" + sdk_module[len("agents"):])
    assert getattr(ours, name) is not None


SDK_ONLY = sorted(set(agents.__all__) - set(otelagents.__all__) - {"__version__"})


@pytest.mark.parametrize("name", SDK_ONLY)
def test_an_sdk_name_otelagents_does_not_offer_raises_a_user_error_naming_the_plugin(name: str) -> None:
    with pytest.raises(UserError, match="OpenAIAgentsInstrumentor") as caught:
        exec(f"from otelagents import {name}", {})  # noqa: S102 - the import statement a port would run
    assert isinstance(caught.value, ImportError) and caught.value.name == name
    assert f"from agents import {name}" in str(caught.value)


@pytest.mark.parametrize(("module", "name"), [("otelagents.items", "ToolApprovalItem"),
                                              ("otelagents.tool", "ComputerTool"),
                                              ("otelagents.agent", "AgentBase")])
def test_submodules_say_the_same(module: str, name: str) -> None:
    with pytest.raises(UserError, match=f"{module}.{name} does not exist"):
        exec(f"from {module} import {name}", {})  # noqa: S102


def test_names_the_sdk_does_not_have_are_plain_attribute_errors() -> None:
    assert not hasattr(otelagents, "no_such_thing")
    assert not hasattr(otelagents.items, "no_such_thing")
    with pytest.raises(ImportError) as caught:
        exec("from otelagents import no_such_thing", {})  # noqa: S102
    assert not isinstance(caught.value, UserError)


@pytest.mark.parametrize(("module", "name"), [("lifecycle", "RunHooksBase"), ("lifecycle", "AgentHooksBase"),
                                              ("items", "RunItemBase"), ("prompts", "GenerateDynamicPromptData"),
                                              ("tool_context", "ToolContext"), ("run_context", "AgentHookContext")])
def test_base_class_names_users_subclass_or_check_exist_too(module: str, name: str) -> None:
    ours = getattr(importlib.import_module(f"otelagents.{module}"), name)
    theirs = getattr(importlib.import_module(f"agents.{module}"), name)
    assert isinstance(ours, type) and isinstance(theirs, type)


def test_run_items_are_run_item_bases_as_in_the_sdk() -> None:
    from otelagents.items import MessageOutputItem, RunItemBase, ToolCallItem, ToolCallOutputItem

    assert all(issubclass(cls, RunItemBase) for cls in (MessageOutputItem, ToolCallItem, ToolCallOutputItem))
