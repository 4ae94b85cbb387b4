"""``ensure_strict_json_schema`` and handoff arguments, checked against the real ``openai-agents==0.24.0``
(issue 16, differences 4 and 5): the same schemas raise ``UserError`` in both, the others come out equal."""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any

import pytest
from agents.strict_schema import ensure_strict_json_schema as sdk_strict
from pydantic import BaseModel

from otelagents.exceptions import UserError
from otelagents.strict_schema import ensure_strict_json_schema
from otelagents.testing.server import Reply

from .sdk_parity import agents, both, no_trace

OBJ = {"type": "object", "properties": {"a": {"type": "string"}}}


def _deep(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


SCHEMAS: dict[str, dict[str, Any]] = {
    "empty": {},
    "plain object": OBJ,
    "properties without type": {"properties": {"a": {"type": "integer"}}},
    "object without type allowing extras": {"additionalProperties": True},
    "object without type, extras as schema": {"additionalProperties": {"type": "string"}},
    "nullable root": {"type": ["object", "null"], "properties": {"a": {"type": "string"}}},
    "root type list of object only": {"type": ["object"], "properties": {"a": {"type": "string"}}},
    "anyOf root": {"anyOf": [OBJ, {"type": "null"}]},
    "additionalProperties true": {**OBJ, "additionalProperties": True},
    "additionalProperties empty schema": {**OBJ, "additionalProperties": {}},
    "additionalProperties false kept": {**OBJ, "additionalProperties": False},
    "nested open object": {"type": "object", "properties": {"m": {"type": "object", "additionalProperties": True}}},
    "nested object closed for you": {"type": "object", "properties": {"m": {"type": "object", "properties": {}}}},
    "array of objects": {"type": "object", "properties": {"l": {"type": "array", "items": OBJ}}},
    "oneOf becomes anyOf": {"type": "object", "properties": {"u": {"oneOf": [OBJ, {"type": "integer"}]}}},
    "None default dropped": {"type": "object", "properties": {"d": {"type": ["string", "null"], "default": None}}},
    "ref with description inlined": {
        "type": "object", "properties": {"p": {"$ref": "#/$defs/P", "description": "the p"}},
        "$defs": {"P": {"type": "object", "properties": {"n": {"type": "integer"}}}},
    },
    "ref with constraining sibling": {
        "type": "object", "properties": {"p": {"$ref": "#/$defs/P", "minLength": 2}},
        "$defs": {"P": {"type": "string"}},
    },
    "single allOf ref": {
        "type": "object", "properties": {"p": {"allOf": [{"$ref": "#/$defs/P"}], "description": "d"}},
        "$defs": {"P": {"type": "object", "properties": {"n": {"type": "integer"}}}},
    },
    "single allOf with clash": {
        "type": "object", "properties": {"p": {"allOf": [{"type": "string"}], "type": "integer"}},
    },
    "two allOf entries": {"type": "object", "properties": {"p": {"allOf": [OBJ, {"type": "object"}]}}},
    "circular allOf refs": {
        "type": "object", "properties": {"p": {"allOf": [{"$ref": "#/$defs/A"}]}},
        "$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}},
    },
    "ref into nested $id resource": {
        "type": "object", "properties": {"p": {"$ref": "#/$defs/R/x", "description": "d"}},
        "$defs": {"R": {"$id": "https://example.com/r", "x": {"type": "string"}}},
    },
    "too deep": _deep(60),
    "deep but fine": _deep(20),
    "definitions (draft 7)": {
        "type": "object", "properties": {"p": {"$ref": "#/definitions/P"}},
        "definitions": {"P": {"type": "object", "properties": {}, "additionalProperties": True}},
    },
}


def _outcome(fn: Any, schema: dict[str, Any]) -> Any:
    try:
        return "ok", fn(copy.deepcopy(schema))
    except Exception as exc:  # noqa: BLE001 - compared by type
        return type(exc).__name__, None


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_strict_schema_raises_exactly_where_the_sdk_does(name: str) -> None:
    schema = SCHEMAS[name]
    assert _outcome(ensure_strict_json_schema, schema) == _outcome(sdk_strict, schema)


def test_the_callers_schema_is_left_alone() -> None:
    schema = copy.deepcopy(SCHEMAS["ref with description inlined"])
    before = copy.deepcopy(schema)
    ensure_strict_json_schema(schema)
    assert schema == before


def test_a_nullable_root_and_an_open_object_are_refused_with_a_reason() -> None:
    with pytest.raises(UserError, match="non-nullable object"):
        ensure_strict_json_schema(SCHEMAS["nullable root"])
    with pytest.raises(UserError, match="additionalProperties should not be set"):
        ensure_strict_json_schema(SCHEMAS["additionalProperties empty schema"])


def test_tools_and_output_types_use_it() -> None:
    import otelagents

    def lookup(options: dict[str, int]) -> str:
        """Open-ended options cannot be strict."""
        return ""

    with pytest.raises(UserError):
        otelagents.function_tool(lookup)
    with pytest.raises(agents.UserError):
        agents.function_tool(lookup)


# --- 5. handoff arguments are validated strictly ---------------------------------------------------


class Escalation(BaseModel):
    reason: str
    priority: int


@pytest.mark.parametrize("arguments", [
    {"reason": "angry", "priority": 2},
    {"reason": "angry", "priority": "2"},
    {"reason": 5, "priority": 2},
    {"reason": "angry"},
])
async def test_handoff_arguments_are_validated_strictly_as_in_the_sdk(arguments: dict[str, Any]) -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        received: list[Any] = []

        async def on_handoff(ctx: Any, value: Escalation) -> None:
            received.append(value)

        target = lib.Agent(name="B", model=model)
        start = lib.Agent(name="A", model=model, handoffs=[
            lib.handoff(target, on_handoff=on_handoff, input_type=Escalation)])
        try:
            result = await lib.Runner.run(start, "go", run_config=no_trace(lib))
        except Exception as exc:  # noqa: BLE001 - compared by name
            return type(exc).__name__, received
        return result.final_output, received

    sdk, ours = await both(scenario, [Reply.handoff("transfer_to_b", arguments), Reply.text("done")])
    assert ours.value == sdk.value
    if arguments == {"reason": "angry", "priority": 2}:
        assert ours.value == ("done", [Escalation(reason="angry", priority=2)])
    else:
        assert ours.value == ("ModelBehaviorError", [])
