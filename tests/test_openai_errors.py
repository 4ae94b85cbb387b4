"""How the OpenAI adapters fail: HTTP errors and retries (the client's), broken streams and terminal events."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator

import openai
import pytest

from otelagents.exceptions import ModelBehaviorError
from otelagents.model_settings import ModelSettings
from otelagents.models.interface import ModelTracing, describe_terminal_event
from otelagents.testing.server import OpenAICompatServer, Reply

from .test_openai_adapters import APIS, check_events, make_model, stream

CLOSED = "connection closed before the response completed"


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer() as srv:
        yield srv


@pytest.fixture
async def client(server: OpenAICompatServer) -> AsyncIterator[openai.AsyncOpenAI]:
    c = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=2, timeout=10)
    yield c
    await c.close()


async def partial(model: object, timeout: float = 10.0) -> tuple[list[object], BaseException]:
    """The events before the error, and the error."""
    events: list[object] = []

    async def run() -> None:
        async for ev in model.stream_response(  # type: ignore[attr-defined]
                None, "Hi", ModelSettings(), [], None, [], ModelTracing.DISABLED):
            events.append(ev)

    with pytest.raises(BaseException) as info:
        await asyncio.wait_for(run(), timeout)
    return events, info.value


@pytest.mark.parametrize("api", APIS)
async def test_500_is_retried_then_succeeds(api: str, server: OpenAICompatServer,
                                            client: openai.AsyncOpenAI) -> None:
    server.add(Reply.status(500, retry_after=0.01), Reply.text("Recovered"))
    events = await stream(make_model(api, client))
    assert events[-1].response.output[0].content[0].text == "Recovered"
    assert [r.headers["x-stainless-retry-count"] for r in server.requests] == ["0", "1"]


@pytest.mark.parametrize("api", APIS)
async def test_500_after_the_last_retry_raises_internal_server_error(api: str, server: OpenAICompatServer,
                                                                     client: openai.AsyncOpenAI) -> None:
    server.add(*[Reply.status(500, retry_after=0.01, message="boom")] * 3)
    with pytest.raises(openai.InternalServerError, match="boom"):
        await stream(make_model(api, client))
    assert len(server.requests) == 3


@pytest.mark.parametrize("api", APIS)
async def test_429_waits_for_retry_after(api: str, server: OpenAICompatServer, client: openai.AsyncOpenAI) -> None:
    server.add(Reply.status(429, retry_after=0.3), Reply.text("Later"))
    await stream(make_model(api, client))
    first, second = server.requests
    assert second.time - first.time >= 0.25
    server.add(*[Reply.status(429, retry_after=0.01, message="slow down")] * 3)
    with pytest.raises(openai.RateLimitError, match="slow down"):
        await stream(make_model(api, client))


@pytest.mark.parametrize("api", APIS)
async def test_401_is_not_retried(api: str, server: OpenAICompatServer, client: openai.AsyncOpenAI) -> None:
    server.add(Reply.status(401, message="bad key"))
    with pytest.raises(openai.AuthenticationError, match="bad key"):
        await stream(make_model(api, client))
    assert len(server.requests) == 1


@pytest.mark.parametrize("api", APIS)
async def test_connection_refused_raises_api_connection_error(api: str) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago, with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="test", max_retries=0, timeout=5)
    with pytest.raises(openai.APIConnectionError):
        await stream(make_model(api, client))
    await client.close()


@pytest.mark.parametrize("api", APIS)
async def test_dropped_connection_mid_stream(api: str, server: OpenAICompatServer,
                                             client: openai.AsyncOpenAI) -> None:
    server.add(Reply.fault("drop_mid_stream"))
    events, error = await partial(make_model(api, client))
    assert isinstance(error, ModelBehaviorError) and CLOSED in str(error), error
    assert any(ev.type == "response.output_text.delta" for ev in events)  # type: ignore[attr-defined]
    check_events(events)


@pytest.mark.parametrize("api", APIS)
async def test_garbage_mid_stream(api: str, server: OpenAICompatServer, client: openai.AsyncOpenAI) -> None:
    server.add(Reply.fault("garbage"))
    events, error = await partial(make_model(api, client))
    assert isinstance(error, ModelBehaviorError), error
    assert "not JSON" in str(error) and "{this is not json" in str(error)
    if api == "responses":
        assert "'response.output_text.delta'" in str(error)  # names the SSE event
    assert events and events[-1].type == "response.output_text.delta"  # type: ignore[attr-defined]


@pytest.mark.parametrize("api", APIS)
async def test_stream_without_terminal_event(api: str, server: OpenAICompatServer,
                                             client: openai.AsyncOpenAI) -> None:
    server.add(Reply.fault("no_terminal"))
    events, error = await partial(make_model(api, client))
    assert isinstance(error, ModelBehaviorError) and CLOSED in str(error), error
    assert all(ev.type != "response.completed" for ev in events)  # type: ignore[attr-defined]


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("fault,terminal", [("failed", "response.failed"), ("incomplete", "response.incomplete"),
                                            ("error_event", "error")])
async def test_terminal_failure_is_yielded_last(api: str, fault: str, terminal: str, server: OpenAICompatServer,
                                                client: openai.AsyncOpenAI) -> None:
    if api == "chat_completions" and fault == "failed":
        terminal = "error"  # Chat has no response.failed: the server sends an {"error": ...} chunk
    server.add(Reply.fault(fault, error_message="model exploded"), Reply.fault(fault, error_message="model exploded"))
    model = make_model(api, client)
    events = await stream(model)
    assert events[-1].type == terminal
    assert "response.completed" not in [ev.type for ev in events]
    message = describe_terminal_event(events[-1])
    assert terminal in message
    # The error names the API actually used (a converted Chat stream is not a "Responses stream").
    expected = terminal.replace(".", r"\.") if api == "responses" else "^Chat Completions stream"
    if api == "chat_completions" and fault == "incomplete":
        expected += " terminated with finish_reason='length'"
    with pytest.raises(ModelBehaviorError, match=expected):
        await model.get_response(None, "Hi", ModelSettings(), [], None, [], ModelTracing.DISABLED)


@pytest.mark.parametrize("api", APIS)
async def test_read_timeout_is_bounded_by_the_client_timeout(api: str, server: OpenAICompatServer) -> None:
    server.add(Reply.fault("stall", stall_seconds=20))
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0, timeout=0.5)
    started = time.monotonic()
    events, error = await partial(make_model(api, client))
    assert isinstance(error, openai.APITimeoutError), error
    assert time.monotonic() - started < 5
    assert events  # the stall came mid-stream
    await client.close()


@pytest.mark.parametrize("api", APIS)
async def test_closing_the_stream_early_closes_the_http_response(api: str, server: OpenAICompatServer,
                                                                 client: openai.AsyncOpenAI) -> None:
    server.add(Reply.long(400, gap=0.005))
    model = make_model(api, client)
    agen = model.stream_response(None, "Hi", ModelSettings(), [], None, [], ModelTracing.DISABLED)
    async for ev in agen:  # type: ignore[attr-defined]
        if ev.type == "response.output_text.delta":
            break
    await agen.aclose()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while server.disconnects == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert server.disconnects == 1


@pytest.mark.parametrize("api", APIS)
async def test_cancelling_a_stalled_stream_returns_promptly(api: str, server: OpenAICompatServer,
                                                            client: openai.AsyncOpenAI) -> None:
    server.add(Reply.fault("stall", stall_seconds=20), Reply.text("next"))
    task = asyncio.ensure_future(stream(make_model(api, client)))
    await asyncio.sleep(0.3)
    task.cancel()
    started = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 2
    events = await stream(make_model(api, client))  # the client still works
    assert events[-1].type == "response.completed"


@pytest.mark.parametrize("api", APIS)
async def test_consecutive_calls_reuse_the_connection(api: str, server: OpenAICompatServer,
                                                      client: openai.AsyncOpenAI) -> None:
    server.add(Reply.text("one"), Reply.text("two"), Reply.text("three"))
    model = make_model(api, client)
    for _ in range(3):
        await stream(model)
    assert len(server.requests) == 3
    assert server.connections == 1
