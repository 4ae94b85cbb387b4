"""``Agent.as_tool``: a nested run inside a tool call, over both APIs and the real HTTP server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from otelagents import Agent, MaxTurnsExceeded, ModelBehaviorError, RunConfig, Runner, UserError
from otelagents.telemetry import semconv as sc
from otelagents.testing.server import OpenAICompatServer, Reply
from tests.telemetry_helpers import make_rig, tree

from .runner_helpers import call_turn, collect, text_turn
from .sdk_parity import make_model, ours

APIS = ["responses", "chat_completions"]


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer() as srv:
        yield srv


def agents(model: Any, **as_tool: Any) -> tuple[Agent[Any], Agent[Any]]:
    translator = Agent(name="Spanish Translator", model=model, instructions="Translate to Spanish.")
    tool = translator.as_tool(tool_name=as_tool.pop("tool_name", "translate"),
                              tool_description="Translate text", **as_tool)
    return translator, Agent(name="Orchestrator", model=model, tools=[tool])


@pytest.mark.parametrize("api", APIS)
async def test_the_nested_run_answers_the_tool_call(api: str, server: OpenAICompatServer) -> None:
    server.add(Reply.tool_calls([("translate", {"input": "hello"})]), Reply.text("hola", chunks=1),
               Reply.text("It is hola.", chunks=3))
    _, orchestrator = agents(make_model(ours(), api, server))
    result = Runner.run_streamed(orchestrator, "Say hello in Spanish")
    events = await collect(result)
    assert [e for e in events if e[0] != "raw"] == [
        ("agent", "Orchestrator"), ("item", "tool_called", "tool_call_item"),
        ("item", "tool_output", "tool_call_output_item"), ("item", "message_output_created", "message_output_item"),
    ]
    if api == "responses":
        # the test server sends a call's arguments in two deltas
        call = call_turn(1)
        call.insert(3, ("raw", "response.function_call_arguments.delta"))
        assert [e for e in events if e[0] == "raw"] == call + text_turn(3)
    assert result.final_output == "It is hola."
    assert [i.output for i in result.new_items if i.type == "tool_call_output_item"] == ["hola"]
    nested = server.requests[1].body
    if api == "responses":
        assert nested["instructions"] == "Translate to Spanish."
        assert nested["input"] == [{"content": "hello", "role": "user"}]
    else:
        assert nested["messages"] == [{"role": "system", "content": "Translate to Spanish."},
                                      {"role": "user", "content": "hello"}]


async def test_on_stream_custom_extractor_and_nested_settings(server: OpenAICompatServer) -> None:
    server.add(Reply.tool_calls([("translate", {"input": "hi"})]), Reply.text("hola"), Reply.text("done"))
    seen: list[Any] = []

    async def extract(result: Any) -> str:
        return f"[{result.last_agent.name}] {result.final_output}"

    async def on_stream(payload: Any) -> None:
        seen.append((payload["agent"].name, payload["event"].type, payload["tool_call"].call_id))

    translator, orchestrator = agents(make_model(ours(), "responses", server), custom_output_extractor=extract,
                                      on_stream=on_stream, max_turns=1)
    result = await Runner.run(orchestrator, "go")
    assert [i.output for i in result.new_items if i.type == "tool_call_output_item"] == ["[Spanish Translator] hola"]
    assert seen[0] == ("Spanish Translator", "agent_updated_stream_event", "call_1_translate")
    assert seen[-1][1] == "run_item_stream_event" and {s[2] for s in seen} == {"call_1_translate"}


async def test_a_failing_nested_run_is_reported_to_the_model_or_raised(server: OpenAICompatServer) -> None:
    """The nested agent calls a tool it lacks (reported to it, from the outer run's config), then runs out
    of turns (max_turns=1): the caller's model is told, or with failure_error_function=None the run fails."""
    config = RunConfig(tool_not_found_behavior="return_error_to_model")
    server.add(Reply.tool_calls([("translate", {"input": "x"})]), Reply.tool_calls([("translate", {"input": "y"})]),
               Reply.text("recovered"))
    _, orchestrator = agents(make_model(ours(), "responses", server), max_turns=1)
    result = await Runner.run(orchestrator, "go", run_config=config)
    assert result.final_output == "recovered"
    assert [i.output for i in result.new_items if i.type == "tool_call_output_item"] == [
        "An error occurred while running the tool. Please try again."]
    server.add(Reply.tool_calls([("translate", {"input": "x"})]), Reply.tool_calls([("translate", {"input": "y"})]))
    _, strict = agents(make_model(ours(), "responses", server), max_turns=1, failure_error_function=None)
    with pytest.raises(MaxTurnsExceeded, match=r"Max turns \(1\) exceeded"):
        await Runner.run(strict, "go", run_config=config)


async def test_bad_tool_input_is_the_models_fault(server: OpenAICompatServer) -> None:
    server.add(Reply.tool_calls([("translate", {"text": "no input key"})]))
    _, orchestrator = agents(make_model(ours(), "responses", server), failure_error_function=None)
    with pytest.raises(ModelBehaviorError, match="Invalid JSON input for tool translate"):
        await Runner.run(orchestrator, "go")


def test_the_tool_matches_the_sdks_and_refuses_what_it_cannot_do() -> None:
    agents_sdk = pytest.importorskip("agents")
    theirs = agents_sdk.Agent(name="Spanish Translator").as_tool(tool_name=None, tool_description=None)
    mine = Agent(name="Spanish Translator").as_tool(tool_name=None, tool_description=None)
    assert (mine.name, mine.description, mine.params_json_schema, mine.strict_json_schema) == (
        theirs.name, theirs.description, theirs.params_json_schema, theirs.strict_json_schema)
    with pytest.raises(UserError, match="needs_approval.*not supported by otelagents.*otelagents plugin"):
        Agent(name="a").as_tool("t", "d", needs_approval=True)
    with pytest.raises(UserError, match="on_stream_max_pending_events must be a positive integer"):
        Agent(name="a").as_tool("t", "d", on_stream=print, on_stream_max_pending_events=0)
    with pytest.raises(TypeError, match="must be a dataclass or Pydantic model type"):
        Agent(name="a").as_tool("t", "d", parameters=dict)
    with pytest.raises(UserError, match="on_stream must be callable"):
        Agent(name="a").as_tool("t", "d", None, True, RunConfig())  # type: ignore[arg-type]


async def test_the_nested_run_is_traced_under_execute_tool(server: OpenAICompatServer) -> None:
    rig = make_rig()
    server.add(Reply.tool_calls([("translate", {"input": "hello"})]), Reply.text("hola"), Reply.text("done"))
    _, orchestrator = agents(make_model(ours(), "responses", server))
    await Runner.run(orchestrator, "go", run_config=rig.config())
    [workflow] = tree(rig.spans())
    [outer] = [n for n in workflow[4] if n[0] == "invoke_agent Orchestrator"]
    [tool] = [n for n in outer[4] if n[0] == "execute_tool translate"]
    assert [n[0] for n in tool[4]] == ["invoke_agent Spanish Translator"]
    assert [n[0] for n in tool[4][0][4]] == ["chat gpt-test"]
    assert len({s.context.trace_id for s in rig.spans()}) == 1
    assert sc.GEN_AI_OPERATION_NAME in (rig.span("invoke_agent Spanish Translator").attributes or {})


class Translation(BaseModel):
    """What to translate."""

    text: str = Field(description="The text to translate")
    language: Literal["es", "fr"] = Field(description="Target language")
    formal: bool | None = None


@dataclass
class Plain:
    text: str
    times: int


@pytest.mark.parametrize("options", [
    {"parameters": Translation},
    {"parameters": Translation, "include_input_schema": True},
    {"parameters": Plain},
    {"parameters": Plain, "input_builder": "custom"},
    {"input_builder": "custom"},
])
async def test_structured_input_reaches_the_nested_agent_as_in_the_sdk(options: dict[str, Any]) -> None:
    """The tool's schema and the nested agent's request match openai-agents 0.24.0 exactly."""
    sdk_parity = pytest.importorskip("tests.sdk_parity")

    async def custom(payload: Any) -> str:
        return f"custom: {json.dumps(payload['params'], sort_keys=True)} {payload['summary'] is not None}"

    arguments = {"input": "hi"} if options.get("parameters") is None else (
        {"text": "hello", "language": "es", "formal": None} if options["parameters"] is Translation
        else {"text": "hello", "times": 2})

    async def scenario(lib: Any, model: Any) -> Any:
        given = dict(options)
        if given.get("input_builder") == "custom":
            given["input_builder"] = custom
        nested = lib.Agent(name="Translator", model=model)
        tool = nested.as_tool(tool_name="translate", tool_description="Translate", **given)
        outer = lib.Agent(name="Outer", model=model, tools=[tool])
        result = await lib.Runner.run(outer, "go", run_config=sdk_parity.no_trace(lib))
        return tool.params_json_schema, result.final_output

    replies = [Reply.tool_calls([("translate", arguments)]), Reply.text("hola"), Reply.text("done")]
    theirs, mine = await sdk_parity.both(scenario, replies)
    assert mine.value == theirs.value
    assert mine.requests[1]["input"] == theirs.requests[1]["input"]


async def test_an_on_stream_callback_that_raises_is_logged_and_the_run_goes_on(
    server: OpenAICompatServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.add(Reply.tool_calls([("translate", {"input": "hi"})]), Reply.text("hola"), Reply.text("done"))

    def broken(payload: Any) -> None:
        raise RuntimeError("callback bug")

    _, orchestrator = agents(make_model(ours(), "responses", server), on_stream=broken)
    with caplog.at_level("ERROR", logger="otelagents"):
        result = await Runner.run(orchestrator, "go")
    assert result.final_output == "done"
    assert [i.output for i in result.new_items if i.type == "tool_call_output_item"] == ["hola"]
    assert "on_stream event" in caplog.text and "callback bug" in caplog.text
