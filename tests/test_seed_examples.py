"""The seed's two streaming examples, with only the import changed, against a default ScriptedModel."""

from __future__ import annotations

import asyncio
import contextlib
import io
import random

import pytest

import otelagents
from otelagents.testing import ScriptedModel, tool_call


@pytest.fixture
def default_model() -> object:
    yield None
    otelagents.set_default_model(None)


def _run(main: object) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        asyncio.run(main())  # type: ignore[arg-type,operator]
    return out.getvalue()


def test_raw_response_events_example(default_model: object) -> None:
    jokes = "1. Why did the scarecrow win an award? Because he was outstanding in his field."
    otelagents.set_default_model(ScriptedModel([jokes]))

    # --- the seed's first example, verbatim but for the import -----------------------------------
    from openai.types.responses import ResponseTextDeltaEvent

    from otelagents import Agent, Runner

    async def main() -> None:
        agent = Agent(
            name="Joker",
            instructions="You are a helpful assistant.",
        )

        result = Runner.run_streamed(agent, input="Please tell me 5 jokes.")
        async for event in result.stream_events():
            if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent):
                print(event.data.delta, end="", flush=True)
    # ----------------------------------------------------------------------------------------------

    assert _run(main) == jokes


def test_run_item_events_example(default_model: object) -> None:
    otelagents.set_default_model(
        ScriptedModel([[tool_call("how_many_jokes")], "Joke one. Joke two."])
    )

    # --- the seed's second example, verbatim but for the import (English comments) ----------------
    from otelagents import Agent, ItemHelpers, Runner, function_tool

    @function_tool
    def how_many_jokes() -> int:
        return random.randint(1, 10)

    async def main() -> None:
        agent = Agent(
            name="Joker",
            instructions="First call the `how_many_jokes` tool, then tell that many jokes.",
            tools=[how_many_jokes],
        )

        result = Runner.run_streamed(
            agent,
            input="Hello",
        )
        print("=== Run starting ===")

        async for event in result.stream_events():
            # We'll ignore the raw responses event deltas
            if event.type == "raw_response_event":
                continue
            # When the agent updates, print that
            elif event.type == "agent_updated_stream_event":
                print(f"Agent updated: {event.new_agent.name}")
                continue
            # When items are generated, print them
            elif event.type == "run_item_stream_event":
                if event.item.type == "tool_call_item":
                    print("-- Tool was called")
                elif event.item.type == "tool_call_output_item":
                    print(f"-- Tool output: {event.item.output}")
                elif event.item.type == "message_output_item":
                    print(f"-- Message output:\n {ItemHelpers.text_message_output(event.item)}")
                else:
                    pass  # Ignore other event types

        print("=== Run complete ===")
    # ----------------------------------------------------------------------------------------------

    lines = _run(main).splitlines()
    assert lines[0] == "=== Run starting ==="
    assert lines[1] == "Agent updated: Joker"
    assert lines[2] == "-- Tool was called"
    assert lines[3].startswith("-- Tool output: ") and 1 <= int(lines[3].split(": ")[1]) <= 10
    assert lines[4:] == ["-- Message output:", " Joke one. Joke two.", "=== Run complete ==="]
