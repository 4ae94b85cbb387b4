"""Production lifecycle (issue 15): bad input with a clear outcome, bounded caches and bounded exception
events. The test server's command line is checked as a user meets it, in a real subprocess."""

from __future__ import annotations

import gc
import subprocess
import sys
import tracemalloc
from collections.abc import AsyncIterator, Iterator

import openai
import pytest
from pydantic import create_model

from otelagents import Agent, function_tool
from otelagents import _final_output as final_output
from otelagents.exceptions import ModelBehaviorError
from otelagents.telemetry import semconv as sc
from otelagents.testing.scripted import ScriptedModel, tool_call
from otelagents.testing.server import OpenAICompatServer, Reply
from tests.telemetry_helpers import make_rig, run_to_end
from tests.test_openai_adapters import APIS, make_model, stream

# --- the test server's command line -----------------------------------------------------------------


def test_server_help_says_what_it_serves_and_how_to_use_it() -> None:
    out = subprocess.run([sys.executable, "-m", "otelagents.testing.server", "--help"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    for needle in ("/v1/responses", "/v1/chat/completions", "OPENAI_BASE_URL", "--port", "--deltas",
                   "--ttft", "--gap", "--print-port", "examples:"):
        assert needle in out, f"--help does not mention {needle!r}:\n{out}"


@pytest.mark.parametrize("print_port", [False, True])
def test_server_prints_its_address_when_it_starts(print_port: bool) -> None:
    args = [sys.executable, "-m", "otelagents.testing.server", "--port", "0", "--deltas", "3"]
    proc = subprocess.Popen(args + (["--print-port"] if print_port else []), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()  # bounded: the server prints at once, or exits (EOF)
        if print_port:
            port = int(first)
            line = proc.stderr.readline()
        else:
            line = first
            port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        assert line.startswith(f"serving OpenAI-compatible API on http://127.0.0.1:{port}/v1"), line
        assert f"OPENAI_BASE_URL=http://127.0.0.1:{port}/v1" in line
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="any", timeout=30)
        chunks = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}],
                                                stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "tok tok tok "
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_server_refuses_a_bad_port_with_a_sentence() -> None:
    done = subprocess.run([sys.executable, "-m", "otelagents.testing.server", "--port", "70000"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--port must be between 0 and 65535" in done.stderr


def test_server_names_a_taken_port() -> None:
    with OpenAICompatServer() as taken:
        done = subprocess.run([sys.executable, "-m", "otelagents.testing.server", "--port", str(taken.port)],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{taken.port}" in done.stderr and "Pick another --port" in done.stderr
    assert "Traceback" not in done.stderr


# --- a 200 that is not an event stream ---------------------------------------------------------------

@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer() as srv:
        yield srv


@pytest.fixture
async def client(server: OpenAICompatServer) -> AsyncIterator[openai.AsyncOpenAI]:
    c = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0, timeout=10)
    yield c
    await c.close()


@pytest.mark.parametrize("api", APIS)
async def test_a_web_page_instead_of_an_event_stream_names_the_content_type(
        api: str, server: OpenAICompatServer, client: openai.AsyncOpenAI) -> None:
    server.add(Reply.fault("html_page"), Reply.text("after"))
    with pytest.raises(ModelBehaviorError) as info:
        await stream(make_model(api, client))
    message = str(info.value)
    assert "Content-Type 'text/html; charset=utf-8'" in message
    assert "not 'text/event-stream'" in message and "Check the base URL" in message
    assert "Please sign in" in message  # the start of the body, as a hint
    assert "retry" not in message.lower() and "connection closed" not in message
    # the connection was released: the next call on the same client works
    events = await stream(make_model(api, client))
    assert events[-1].type == "response.completed"


# --- bounded caches -----------------------------------------------------------------------------------

def test_output_schema_cache_is_bounded_and_keeps_recent_types() -> None:
    final_output._schemas.clear()
    limit = final_output.SCHEMA_CACHE_SIZE
    first = create_model("Out0", answer=(int, ...))
    made = [first] + [create_model(f"Out{i}", answer=(int, ...)) for i in range(1, limit + 10)]
    schema_first = final_output.output_schema_for(Agent("a", output_type=first))
    for cls in made[1:]:
        final_output.output_schema_for(Agent("a", output_type=cls))
    assert len(final_output._schemas) == limit
    assert first not in final_output._schemas  # the least recently used went first
    recent = made[-1]
    schema = final_output.output_schema_for(Agent("a", output_type=recent))
    assert schema is final_output.output_schema_for(Agent("a", output_type=recent))  # reused while cached
    assert final_output.output_schema_for(Agent("a", output_type=first)) is not schema_first  # rebuilt
    assert final_output.output_schema_for(Agent("a", output_type=list[int])) is not None  # generic alias


def test_three_thousand_distinct_output_types_keep_memory_flat() -> None:
    final_output._schemas.clear()

    def churn(start: int, count: int) -> None:
        for i in range(start, start + count):
            cls = create_model(f"Dyn{i}", value=(int, ...))
            final_output.output_schema_for(Agent("a", output_type=cls))

    churn(0, 1500)  # warm up well past the cache bound (pydantic's and the allocator's own first growth)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        churn(1500, 1500)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    # one cached schema plus its model class costs about 9 kB: 1,500 more kept would be over 13 MB
    assert grown < 3_000_000, f"memory grew by {grown} bytes over 1,500 new output types"
    assert len(final_output._schemas) == final_output.SCHEMA_CACHE_SIZE


# --- exception events within the content limit --------------------------------------------------------

HUGE = "E" * 1_000_000


@function_tool
def explode() -> str:
    """Fails with a megabyte-long message."""
    raise ValueError(HUGE)


@pytest.mark.parametrize("limit", [100, 4096])
async def test_a_megabyte_exception_is_cut_to_the_content_limit(limit: int) -> None:
    rig = make_rig(capture_content=True, content_max_length=limit)
    model = ScriptedModel([[tool_call("explode")], "sorry"])
    await run_to_end(Agent("e", model=model, tools=[explode]), "go", rig.config())
    span = rig.span("execute_tool explode")
    (event,) = [e for e in span.events if e.name == sc.EXCEPTION_EVENT]
    attrs = dict(event.attributes or {})
    assert attrs[sc.EXCEPTION_TYPE] == "ValueError"
    message, stack = str(attrs[sc.EXCEPTION_MESSAGE]), str(attrs[sc.EXCEPTION_STACKTRACE])
    assert len(message) == limit and message.startswith("EEEE") and message.endswith("…[truncated]")
    assert len(stack) == limit and stack.startswith("[truncated]…")  # the tail, where the error is
    assert len(span.status.description or "") <= limit
    for other in rig.spans():
        for value in (other.attributes or {}).values():
            assert not isinstance(value, str) or len(value) <= limit, other.name


async def test_a_short_exception_is_kept_whole_with_its_stack_trace() -> None:
    rig = make_rig(capture_content=True)

    @function_tool
    def fails() -> str:
        """Fails briefly."""
        raise KeyError("short")

    await run_to_end(Agent("e", model=ScriptedModel([[tool_call("fails")], "ok"]), tools=[fails]), "go",
                     rig.config())
    (event,) = rig.span("execute_tool fails").events
    attrs = dict(event.attributes or {})
    assert attrs[sc.EXCEPTION_MESSAGE] == "'short'"
    assert "Traceback (most recent call last)" in str(attrs[sc.EXCEPTION_STACKTRACE])
    assert str(attrs[sc.EXCEPTION_STACKTRACE]).rstrip().endswith("KeyError: 'short'")
