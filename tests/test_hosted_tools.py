"""Hosted tools on the Responses API: passed to the server as the SDK sends them, their calls surfaced as
``tool_called`` items (nothing runs locally), refused by Chat Completions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from otelagents import (
    Agent,
    CodeInterpreterTool,
    FileSearchTool,
    ImageGenerationTool,
    ModelBehaviorError,
    RunConfig,
    Runner,
    UserError,
    WebSearchTool,
    function_tool,
)
from otelagents.telemetry import semconv as sc
from otelagents.testing.server import OpenAICompatServer, Reply

from .hosted_sse import HOSTED, hosted_items_reply, hosted_reply
from .runner_helpers import collect
from .sdk_parity import make_model, ours
from .telemetry_helpers import drain, hist, make_rig, run_to_end, tree, wait_done


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer() as srv:
        yield srv


@function_tool
def local_lookup(q: str) -> str:
    """Look something up locally."""
    return q


@pytest.mark.parametrize("kind", list(HOSTED))
async def test_a_hosted_call_streams_as_tool_called_and_nothing_runs(kind: str, server: OpenAICompatServer) -> None:
    server.add(hosted_reply(kind, "Answer."))
    agent = Agent(name="R", model=make_model(ours(), "responses", server), tools=[WebSearchTool(), local_lookup])
    result = Runner.run_streamed(agent, "q")
    events = await collect(result)
    started, done, progress = HOSTED[kind]
    assert events == [
        ("agent", "R"), ("raw", "response.created"), ("raw", "response.in_progress"),
        ("raw", "response.output_item.added"), *[("raw", p) for p in progress], ("raw", "response.output_item.done"),
        ("raw", "response.output_item.added"), ("raw", "response.content_part.added"),
        ("raw", "response.output_text.delta"), ("raw", "response.output_text.done"),
        ("raw", "response.content_part.done"), ("raw", "response.output_item.done"), ("raw", "response.completed"),
        ("item", "tool_called", "tool_call_item"), ("item", "message_output_created", "message_output_item"),
    ]
    assert result.final_output == "Answer." and len(server.requests) == 1
    call = result.new_items[0]
    assert call.raw_item.type == kind and call.to_input_item()["id"] == f"{kind[:2]}_1"


async def test_hosted_tools_are_sent_as_the_sdk_sends_them() -> None:
    sdk_parity = pytest.importorskip("tests.sdk_parity")

    async def scenario(lib: Any, model: Any) -> None:
        tools = [lib.WebSearchTool(search_context_size="high", search_content_types=["text", "image"]),
                 lib.function_tool(local_lookup_fn),
                 lib.FileSearchTool(vector_store_ids=["vs_1"], max_num_results=5, include_search_results=True),
                 lib.CodeInterpreterTool(tool_config={"type": "code_interpreter", "container": {"type": "auto"}}),
                 lib.ImageGenerationTool(tool_config={"type": "image_generation", "quality": "low"})]
        agent = lib.Agent(name="R", model=model, tools=tools)
        await lib.Runner.run(agent, "q", run_config=sdk_parity.no_trace(lib))

    theirs, mine = await sdk_parity.both(scenario, [Reply.text("ok")])
    assert mine.requests[0]["tools"] == theirs.requests[0]["tools"]
    # the SDK builds `include` from a set, so its order changes with the process's hash seed
    assert sorted(mine.requests[0]["include"]) == sorted(theirs.requests[0]["include"]) == [
        "file_search_call.results", "web_search_call.results"]
    assert mine.requests[0]["include"] == ["web_search_call.results", "file_search_call.results"]  # ours: tool order
    assert [t["type"] for t in mine.requests[0]["tools"]] == [
        "web_search", "function", "file_search", "code_interpreter", "image_generation"]


def local_lookup_fn(q: str) -> str:
    """Look something up locally."""
    return q


async def test_chat_completions_refuses_hosted_tools(server: OpenAICompatServer) -> None:
    agent = Agent(name="R", model=make_model(ours(), "chat_completions", server), tools=[WebSearchTool()])
    with pytest.raises(UserError, match="Hosted tools are not supported with the ChatCompletions API.*Responses"):
        await Runner.run(agent, "q")
    assert server.requests == []


def test_hosted_tool_names_and_bad_tools() -> None:
    assert [t.name for t in (WebSearchTool(), FileSearchTool(vector_store_ids=[]),
                             CodeInterpreterTool(tool_config={}), ImageGenerationTool(tool_config={}))] == [
        "web_search", "file_search", "code_interpreter", "image_generation"]
    with pytest.raises(UserError, match="max_num_results must be zero, an integer between 1 and 50"):
        FileSearchTool(vector_store_ids=["v"], max_num_results=51).to_param()
    with pytest.raises(UserError, match="is not a tool.*hosted tools: WebSearchTool"):
        Agent(name="a", tools=[object()])  # type: ignore[list-item]


WEB_OK = {"id": "ws_1", "type": "web_search_call", "action": {"type": "search", "query": "otel"}}
FILES_FAILED = {"id": "fs_1", "type": "file_search_call", "queries": ["otel"], "status": "failed"}


async def test_the_runner_reports_hosted_calls_as_execute_tool_spans_of_their_type(
        server: OpenAICompatServer) -> None:
    rig = make_rig()
    server.add(hosted_items_reply("Found it", [WEB_OK, FILES_FAILED]))
    agent = Agent(name="Searcher", model=make_model(ours(), "responses", server), tools=[WebSearchTool()])
    result = await run_to_end(agent, "search", RunConfig(observers=[rig.telemetry]))
    await wait_done(result)
    assert result.final_output == "Found it"
    [root] = tree(rig.spans())
    [agent_node] = root[4]
    assert sorted(child[:4] for child in agent_node[4]) == [
        ("chat gpt-test", "CLIENT", "UNSET", None),
        ("execute_tool file_search", "INTERNAL", "ERROR", "HostedToolError"),
        ("execute_tool web_search", "INTERNAL", "UNSET", None),
    ]
    web = rig.span("execute_tool web_search").attributes or {}
    assert web[sc.GEN_AI_TOOL_TYPE] == "extension" and web[sc.GEN_AI_TOOL_CALL_ID] == "ws_1"
    assert (rig.span("execute_tool file_search").attributes or {})[sc.GEN_AI_TOOL_TYPE] == "datastore"
    assert hist(rig.engine, sc.METRIC_EXECUTE_TOOL_DURATION, {sc.GEN_AI_TOOL_TYPE: "datastore"}).count == 1
    assert rig.tracker.open == {}


async def test_a_hosted_call_open_when_the_stream_breaks_ends_with_the_streams_error(
        server: OpenAICompatServer) -> None:
    rig = make_rig()
    frames = hosted_items_reply("never sent", [WEB_OK]).raw_frames or ()
    server.add(Reply.raw_sse(list(frames[:2])))  # response.created, then the call's item added: no done, no end
    agent = Agent(name="Searcher", model=make_model(ours(), "responses", server), tools=[WebSearchTool()])
    result = Runner.run_streamed(agent, "search", run_config=RunConfig(observers=[rig.telemetry]))
    with pytest.raises(ModelBehaviorError):
        await drain(result)
    await wait_done(result)
    web = rig.span("execute_tool web_search")
    assert (web.attributes or {})[sc.ERROR_TYPE] == "ModelBehaviorError"
    assert rig.tracker.open == {}


async def test_the_default_observer_sees_hosted_calls_without_failing(server: OpenAICompatServer) -> None:
    server.add(hosted_items_reply("Found it", [WEB_OK]))
    agent = Agent(name="Searcher", model=make_model(ours(), "responses", server), tools=[WebSearchTool()])
    result = await run_to_end(agent, "search", RunConfig())
    assert result.final_output == "Found it"
