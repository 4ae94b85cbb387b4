"""Production lifecycle (issue 15): the clients otelagents makes are closed with their event loop, so a
batch script of ``run_sync`` calls over HTTP keeps file descriptors and live event loops flat."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator

import pytest

from otelagents import Agent, Runner
from otelagents.models import openai_provider
from otelagents.models.openai_provider import OpenAIProvider, reset_default_client
from otelagents.testing.server import OpenAICompatServer, Reply


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer(responder=lambda request: Reply.text("ok")) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        reset_default_client()
        yield srv
    reset_default_client()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def live_loops() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, asyncio.AbstractEventLoop))


pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd (Linux)")


@pytest.mark.timeout(240)
def test_500_run_sync_calls_over_http_leave_fds_and_loops_flat(server: OpenAICompatServer) -> None:
    agent = Agent("batch", model="gpt-test")
    for _ in range(20):  # warm-up: imports, the client's first pool, lazy module state
        assert Runner.run_sync(agent, "hi").final_output == "ok"
    fds, loops = open_fds(), live_loops()
    for _ in range(500):
        assert Runner.run_sync(agent, "hi").final_output == "ok"
    assert open_fds() - fds <= 3, f"file descriptors grew from {fds} to {open_fds()} over 500 runs"
    assert live_loops() - loops <= 1, f"event loops alive grew from {loops} to {live_loops()}"
    assert len(openai_provider._defaults.lazy) == 0  # every client was forgotten with its loop
    assert len(server.requests) == 520


@pytest.mark.timeout(120)
def test_asyncio_run_closes_the_client_it_made_and_a_provider_of_its_own(server: OpenAICompatServer) -> None:
    agent = Agent("one", model="gpt-test")
    provider = OpenAIProvider(base_url=server.base_url, api_key="k")
    seen: list[object] = []

    async def main() -> None:
        result = await Runner.run(agent, "hi")
        assert result.final_output == "ok"
        seen.append(OpenAIProvider.shared().client())
        seen.append(provider.client())
        assert seen[-1] is provider.client()  # one client per loop, reused within it
        assert not seen[0].is_closed()  # type: ignore[attr-defined]

    asyncio.run(main())
    assert all(client.is_closed() for client in seen)  # type: ignore[attr-defined]
    assert len(openai_provider._defaults.lazy) == 0


@pytest.mark.timeout(120)
def test_a_loop_closed_without_shutting_down_async_generators_is_forgotten_at_the_next_lookup(
        server: OpenAICompatServer) -> None:
    agent = Agent("bare", model="gpt-test")
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(Runner.run(agent, "hi")).final_output == "ok"
    finally:
        loop.close()  # no shutdown_asyncgens(): the client cannot be closed in its loop
    assert len(openai_provider._defaults.lazy) == 1
    assert Runner.run_sync(agent, "hi").final_output == "ok"
    assert len(openai_provider._defaults.lazy) == 0


@pytest.mark.timeout(120)
async def test_a_long_lived_loop_keeps_one_client_for_every_run(server: OpenAICompatServer) -> None:
    agent = Agent("server", model="gpt-test")
    for _ in range(5):
        assert (await Runner.run(agent, "hi")).final_output == "ok"
    client = OpenAIProvider.shared().client()
    assert client is OpenAIProvider.shared().client() and not client.is_closed()
    assert len(openai_provider._defaults.lazy) == 1
