"""The runner end to end against the local OpenAI-compatible server, found through ``OPENAI_BASE_URL``.

The agents name no model, so the runner's default provider makes the default client lazily, as it would in
a user's program. The seed's two streaming examples run as written; then the same scenarios run over both
APIs and must produce the same stream events.
"""

from __future__ import annotations

import json
import pathlib
import runpy
from collections.abc import Awaitable, Callable, Iterator

import pytest
from pydantic import BaseModel

from otelagents import Agent, Runner, function_tool
from otelagents.models.openai_provider import reset_default_client, set_default_openai_api
from otelagents.testing.server import OpenAICompatServer, Reply

from .runner_helpers import collect

APIS = ["responses", "chat_completions"]
EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer() as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.delenv("OPENAI_DEFAULT_MODEL", raising=False)
        reset_default_client()
        yield srv
        reset_default_client()
        set_default_openai_api("responses")


def example_main(name: str) -> Callable[[], Awaitable[None]]:
    """``main`` of ``examples/<name>``: the seed's code with only the import changed (kept in one place)."""
    return runpy.run_path(str(EXAMPLES / name))["main"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("api", APIS)
async def test_seed_example_raw_text_deltas(api: str, server: OpenAICompatServer,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    set_default_openai_api(api)  # type: ignore[arg-type]
    server.add(Reply.text("Why did the chicken cross the road? To get to the other side."))
    await example_main("stream_text.py")()
    assert capsys.readouterr().out == "Why did the chicken cross the road? To get to the other side."
    request = server.requests[0]
    assert request.body["model"] == "gpt-5.6-luna"  # the SDK 0.24.0 default model
    if api == "responses":
        assert request.body["instructions"] == "You are a helpful assistant."
    else:
        assert request.body["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}


@pytest.mark.parametrize("api", APIS)
async def test_seed_example_run_items(api: str, server: OpenAICompatServer,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    set_default_openai_api(api)  # type: ignore[arg-type]
    server.add(Reply.tool_calls([("how_many_jokes", {})]), Reply.text("Joke one. Joke two."))
    await example_main("stream_items.py")()
    lines = capsys.readouterr().out.splitlines()
    count = int(lines[3].removeprefix("-- Tool output: "))
    assert 1 <= count <= 10
    assert lines == ["=== Run starting ===", "Agent updated: Joker", "-- Tool was called",
                     f"-- Tool output: {count}", "-- Message output:", " Joke one. Joke two.",
                     "=== Run complete ==="]
    second = server.requests[1].body
    if api == "responses":
        output_item = second["input"][-1]
        assert output_item == {"call_id": "call_1_how_many_jokes", "output": str(count),
                               "type": "function_call_output"}
        assert second["input"][-2]["type"] == "function_call"
    else:
        assert second["messages"][-1] == {"role": "tool", "tool_call_id": "call_1_how_many_jokes",
                                          "content": str(count)}
        assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == "how_many_jokes"


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


class Forecast(BaseModel):
    city: str
    sunny: bool


SCENARIOS = {
    "text": ([Reply.text("Hello there")], {}),
    "tool": ([Reply.tool_calls([("get_weather", {"city": "Paris"})]), Reply.text("It is sunny.")], {}),
    "parallel": ([Reply.tool_calls([("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})]),
                  Reply.text("Both sunny.")], {}),
    "handoff": ([Reply.handoff("transfer_to_spanish_agent"), Reply.text("¡Hola!")], {}),
    "structured": ([Reply.json({"city": "Paris", "sunny": True})], {"output_type": Forecast}),
}


def build_agent(name: str) -> Agent:  # type: ignore[type-arg]
    spanish = Agent(name="Spanish Agent", instructions="Reply in Spanish.")
    options = SCENARIOS[name][1]
    return Agent(name="Triage", instructions="Help.", tools=[get_weather], handoffs=[spanish], **options)


async def run_scenario(server: OpenAICompatServer, api: str, name: str) -> tuple[list[tuple[str, ...]], object]:
    set_default_openai_api(api)  # type: ignore[arg-type]
    server.add(*SCENARIOS[name][0])
    result = Runner.run_streamed(build_agent(name), input="Hi")
    events = await collect(result)
    return events, result


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_stream_events_are_identical_between_apis(name: str, server: OpenAICompatServer) -> None:
    responses_events, responses_result = await run_scenario(server, "responses", name)
    chat_events, chat_result = await run_scenario(server, "chat_completions", name)
    assert chat_events == responses_events
    assert chat_result.final_output == responses_result.final_output  # type: ignore[attr-defined]
    assert chat_result.last_agent.name == responses_result.last_agent.name  # type: ignore[attr-defined]
    items = [e for e in responses_events if e[0] == "item"]
    expected_items = {
        "text": [("item", "message_output_created", "message_output_item")],
        "tool": [("item", "tool_called", "tool_call_item"), ("item", "tool_output", "tool_call_output_item"),
                 ("item", "message_output_created", "message_output_item")],
        "parallel": [("item", "tool_called", "tool_call_item")] * 2
        + [("item", "tool_output", "tool_call_output_item")] * 2
        + [("item", "message_output_created", "message_output_item")],
        "handoff": [("item", "handoff_requested", "handoff_call_item"),
                    ("item", "handoff_occured", "handoff_output_item"),
                    ("item", "message_output_created", "message_output_item")],
        "structured": [("item", "message_output_created", "message_output_item")],
    }[name]
    assert items == expected_items
    if name == "structured":
        assert responses_result.final_output == Forecast(city="Paris", sunny=True)  # type: ignore[attr-defined]
    if name == "handoff":
        assert ("agent", "Spanish Agent") in chat_events
        assert len(chat_result.to_input_list()) == 4  # type: ignore[attr-defined]
        assert json.loads(chat_result.to_input_list()[2]["output"]) == {"assistant": "Spanish Agent"}  # type: ignore
    usage = chat_result.context_wrapper.usage  # type: ignore[attr-defined]
    assert usage.requests == len(SCENARIOS[name][0]) and usage.input_tokens == 11 * usage.requests


def test_run_sync_twice_against_the_server(server: OpenAICompatServer) -> None:
    """Each ``run_sync`` has its own event loop; the lazily made default client must not outlive it."""
    server.add(Reply.text("one"), Reply.text("two"))
    agent = Agent(name="A")
    assert Runner.run_sync(agent, "Hi").final_output == "one"
    assert Runner.run_sync(agent, "Hi").final_output == "two"
    assert len(server.requests) == 2
