"""Production lifecycle (issue 15): tool and handoff names that would collide at the model, and tool
parameters pydantic cannot take, are ``UserError``s that name both sides, not silent or a traceback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from otelagents import Agent, Runner, function_tool, handoff
from otelagents.exceptions import UserError
from otelagents.testing.scripted import ScriptedModel


@function_tool
def lookup(key: str) -> str:
    """Look a key up."""
    return key


@function_tool(name_override="lookup")
def other_lookup(key: str) -> str:
    """Another lookup."""
    return key


def run(agent: Agent[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(Runner.run(agent, "go"), 10))


def raises(agent: Agent[Any]) -> str:
    with pytest.raises(UserError) as info:
        run(agent)
    return str(info.value)


def model() -> ScriptedModel:
    return ScriptedModel(["never reached"])


def test_two_tools_with_one_name() -> None:
    message = raises(Agent("a", model=model(), tools=[lookup, other_lookup]))
    assert "Agent 'a' has two tools named 'lookup'" in message
    assert "tools[0]" in message and "tools[1]" in message and "name_override" in message


def test_the_same_tool_twice() -> None:
    assert "two tools named 'lookup'" in raises(Agent("a", model=model(), tools=[lookup, lookup]))


def test_a_tool_named_like_a_handoff() -> None:
    @function_tool(name_override="transfer_to_billing")
    def fake() -> str:
        """Pretends to transfer."""
        return "no"

    message = raises(Agent("a", model=model(), tools=[fake], handoffs=[Agent("Billing")]))
    assert "the handoff to agent 'Billing'" in message and "tools[0]" in message
    assert "'transfer_to_billing'" in message


@pytest.mark.parametrize(("first", "second", "tool"), [
    ("Sales Team", "sales-team", "transfer_to_sales_team"),
    ("Ventes", "ventes", "transfer_to_ventes"),
    ("販売", "销售", "transfer_to___"),
])
def test_handoffs_whose_names_normalise_to_one(first: str, second: str, tool: str) -> None:
    message = raises(Agent("triage", model=model(), handoffs=[Agent(first), Agent(second)]))
    assert f"the handoff to agent {first!r} and the handoff to agent {second!r}" in message
    assert f"tool {tool!r}" in message and "tool_name_override" in message
    assert ("other characters become '_'" in message) is (tool == "transfer_to___")


def test_an_override_resolves_the_clash() -> None:
    agent = Agent("triage", model=ScriptedModel(["fine"]),
                  handoffs=[Agent("Sales Team"), handoff(Agent("sales-team"), tool_name_override="to_sales_2")])
    assert run(agent).final_output == "fine"


def test_distinct_names_run_as_before() -> None:
    agent = Agent("a", model=ScriptedModel(["fine"]), tools=[lookup], handoffs=[Agent("Billing")])
    assert run(agent).final_output == "fine"


def test_a_disabled_handoff_does_not_clash() -> None:
    agent = Agent("a", model=ScriptedModel(["fine"]),
                  handoffs=[Agent("Sales Team"), handoff(Agent("sales-team"), is_enabled=False)])
    assert run(agent).final_output == "fine"


@pytest.mark.parametrize("param", ["model_config", "model_dump", "model_fields", "_secret"])
def test_a_parameter_pydantic_reserves_is_a_sentence(param: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def tool({param}: str) -> str:\n    'Doc.'\n    return {param}\n", namespace)  # noqa: S102
    with pytest.raises(UserError) as info:
        function_tool(namespace["tool"])
    message = str(info.value)
    assert f"Tool 'tool': the parameter {param!r} cannot be a tool argument" in message
    assert "Rename the parameter" in message


@pytest.mark.parametrize("param", ["schema", "json", "model", "config"])
def test_names_pydantic_only_warns_about_still_work(param: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def tool({param}: str) -> str:\n    'Doc.'\n    return {param}\n", namespace)  # noqa: S102
    with pytest.warns(UserWarning) if param in ("schema", "json") else _nothing():
        tool = function_tool(namespace["tool"])
    assert list(tool.params_json_schema["properties"]) == [param]


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None
