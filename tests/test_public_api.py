"""The public surface: names, import cost, and the pieces of the SDK API that are not about streaming."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from typing import Annotated, Literal

import pytest
from openai.types.responses import ResponseOutputMessage, ResponseOutputRefusal, ResponseOutputText
from pydantic import Field

import otelagents
from otelagents import (
    Agent,
    FunctionTool,
    ItemHelpers,
    MessageOutputItem,
    ModelSettings,
    RunContextWrapper,
    ToolContext,
    Usage,
    UserError,
    function_tool,
    handoff,
)


def test_all_is_exactly_the_public_names() -> None:
    public = {name for name in dir(otelagents) if not name.startswith("_")}
    # Submodules (otelagents.guardrail, otelagents.memory, ...) become attributes once imported.
    modules = {name for name in public if isinstance(getattr(otelagents, name), types.ModuleType)}
    assert sorted(otelagents.__all__) == otelagents.__all__
    assert public - modules <= set(otelagents.__all__)
    for name in otelagents.__all__:
        assert getattr(otelagents, name) is not None, name


def test_import_has_no_side_effects_and_does_not_load_opentelemetry() -> None:
    code = (
        "import sys, otelagents, otelagents.telemetry;"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_run_loop_and_adapters_never_import_opentelemetry() -> None:
    import pathlib

    root = pathlib.Path(otelagents.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(("telemetry/", "testing/", "cli/", "instrumentation/")):
            continue
        text = path.read_text()
        if "import opentelemetry" in text or "from opentelemetry" in text:
            offenders.append(relative)
    assert offenders == []


def test_function_tool_schema_matches_the_sdk() -> None:
    @function_tool
    def get_weather(
        ctx: RunContextWrapper[None],
        city: str,
        units: Literal["c", "f"] = "c",
        days: int | None = None,
    ) -> str:
        """Get the weather for a city.

        Args:
            city: The city to look up.
            units: Celsius or Fahrenheit.
        """
        return city

    assert isinstance(get_weather, FunctionTool)
    assert get_weather.name == "get_weather"
    assert get_weather.description == "Get the weather for a city."
    schema = get_weather.params_json_schema
    assert schema["title"] == "get_weather_args"
    assert schema["required"] == ["city", "units", "days"]
    assert schema["additionalProperties"] is False
    assert "ctx" not in schema["properties"]
    assert schema["properties"]["units"]["enum"] == ["c", "f"]
    assert schema["properties"]["city"]["description"] == "The city to look up."
    assert {"type": "null"} in schema["properties"]["days"]["anyOf"]


def test_function_tool_forms_and_descriptions() -> None:
    def plain(x: Annotated[int, "how many"], y: int = Field(default=2, description="why")) -> int:
        return x + y

    tool = function_tool(plain, name_override="adder", description_override="adds")
    assert (tool.name, tool.description) == ("adder", "adds")
    assert tool.params_json_schema["properties"]["x"]["description"] == "how many"
    assert tool.params_json_schema["properties"]["y"]["description"] == "why"

    @function_tool(strict_mode=False)
    def loose(a: int, b: int = 3) -> int:
        return a

    assert loose.params_json_schema["required"] == ["a"]
    assert "additionalProperties" not in loose.params_json_schema

    @function_tool
    def nothing() -> str:
        return ""

    assert nothing.params_json_schema == {
        "properties": {}, "title": "nothing_args", "type": "object", "additionalProperties": False, "required": [],
    }
    assert nothing.description == ""


def test_context_parameter_elsewhere_is_an_error() -> None:
    def bad(city: str, ctx: ToolContext[None]) -> str:
        return city

    with pytest.raises(UserError, match="must come first"):
        function_tool(bad)


async def test_tool_invocation_validates_arguments() -> None:
    @function_tool(failure_error_function=None)
    def double(n: int) -> int:
        return n * 2

    ctx = ToolContext(context=None, tool_name="double", tool_call_id="c1", tool_arguments="{}")
    assert await double.on_invoke_tool(ctx, json.dumps({"n": 4})) == 8
    with pytest.raises(otelagents.ModelBehaviorError, match="Invalid JSON input for tool double"):
        await double.on_invoke_tool(ctx, "[1]")
    with pytest.raises(otelagents.ModelBehaviorError):
        await double.on_invoke_tool(ctx, '{"n": "many"}')


def test_handoff_tool_shape() -> None:
    target = Agent(name="Spanish Agent", handoff_description="Speaks Spanish.")
    h = handoff(target)
    assert h.tool_name == "transfer_to_spanish_agent"
    assert h.tool_description == "Handoff to the Spanish Agent agent to handle the request. Speaks Spanish."
    assert h.input_json_schema == {"additionalProperties": False, "type": "object", "properties": {}, "required": []}
    assert h.get_transfer_message(target) == '{"assistant": "Spanish Agent"}'
    with pytest.raises(UserError):
        handoff(target, input_type=int)


def test_agent_validation() -> None:
    with pytest.raises(TypeError, match="exactly 2 arguments"):
        Agent(name="x", instructions=lambda ctx: "hi")  # type: ignore[arg-type,misc]
    with pytest.raises(UserError, match="function_tool"):
        Agent(name="x", tools=[print])  # type: ignore[list-item]
    clone = Agent(name="a", instructions="be brief").clone(name="b")
    assert (clone.name, clone.instructions) == ("b", "be brief")


def test_item_helpers() -> None:
    message = ResponseOutputMessage(
        id="msg_1", type="message", role="assistant", status="completed",
        content=[
            ResponseOutputText(type="output_text", text="Hello ", annotations=[]),
            ResponseOutputRefusal(type="refusal", refusal="no"),
            ResponseOutputText(type="output_text", text="world", annotations=[]),
        ],
    )
    item = MessageOutputItem(agent=Agent(name="a"), raw_item=message)
    assert ItemHelpers.text_message_output(item) == "Hello world"
    assert ItemHelpers.extract_text(message) == "Hello world"
    assert ItemHelpers.extract_last_text(message) == "world"
    assert ItemHelpers.extract_refusal(message) == "no"
    assert ItemHelpers.extract_last_content(message) == "world"
    assert ItemHelpers.input_to_new_input_list("hi") == [{"content": "hi", "role": "user"}]
    original = [{"role": "user", "content": "x"}]
    copied = ItemHelpers.input_to_new_input_list(original)
    assert copied == original and copied[0] is not original[0]
    assert item.to_input_item()["id"] == "msg_1"


def test_model_settings_resolve_and_usage_add() -> None:
    base = ModelSettings(temperature=0.2, extra_args={"a": 1})
    merged = base.resolve(ModelSettings(top_p=0.5, extra_args={"b": 2}))
    assert (merged.temperature, merged.top_p, merged.extra_args) == (0.2, 0.5, {"a": 1, "b": 2})
    assert base.top_p is None
    total = Usage()
    total.add(Usage(requests=1, input_tokens=3, output_tokens=4, total_tokens=7))
    total.add(Usage(requests=1, input_tokens=1, output_tokens=1, total_tokens=2))
    assert (total.requests, total.input_tokens, total.output_tokens, total.total_tokens) == (2, 4, 5, 9)
    assert len(total.request_usage_entries) == 2


def test_model_settings_trace_headers_merge_like_resolve_and_leaves_the_original() -> None:
    base = ModelSettings(temperature=0.2, extra_headers={"x-app": "1", "traceparent": "old"}, timeout=5.0)
    headers = {"traceparent": "new", "tracestate": "k=v"}
    merged = base._with_headers(headers)
    assert merged == base.resolve(ModelSettings(extra_headers=dict(headers)))
    assert merged.extra_headers == {"x-app": "1", "traceparent": "new", "tracestate": "k=v"}
    assert (merged.temperature, merged.timeout) == (0.2, 5.0)
    assert base.extra_headers == {"x-app": "1", "traceparent": "old"}  # the original is untouched
    headers["traceparent"] = "changed later"
    assert merged.extra_headers["traceparent"] == "new"  # and so is the copy, by the caller's dict
    assert ModelSettings()._with_headers({"a": "b"}).extra_headers == {"a": "b"}
    assert ModelSettings()._with_headers({}).extra_headers == {}

    class Custom(ModelSettings):
        pass

    assert type(Custom(top_p=0.1)._with_headers({"a": "b"})) is Custom


@pytest.mark.parametrize("kwargs", [
    {"previous_response_id": ""}, {"previous_response_id": 5}, {"conversation_id": ""},
])
async def test_bad_server_conversation_arguments_raise(kwargs: dict[str, object]) -> None:
    # previous_response_id / conversation_id are supported (tests/test_sdk_parity_conversation.py);
    # values that cannot be ids are refused up front.
    from otelagents import Runner
    from otelagents.testing import ScriptedModel

    agent = Agent(name="a", model=ScriptedModel(["x"]))
    with pytest.raises(UserError, match="must be a non-empty string or None"):
        await Runner.run(agent, "go", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="must be a non-empty string or None"):
        Runner.run_streamed(agent, "go", **kwargs)  # type: ignore[arg-type]
