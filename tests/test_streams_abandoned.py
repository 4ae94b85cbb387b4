"""Abandoned and finished model calls are not held for the process's lifetime.

A model call whose event loop is closed under it never ends: it must stop counting as an open stream, and,
when nothing else keeps its task, it and its run must be collected. A finished call must not be kept alive
by the copies of its context that asyncio and anyio keep after it (a cancelled timer handle keeps the context
it was scheduled in until its deadline comes round).
"""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider

from otelagents import Agent, RunConfig, Runner
from otelagents.models.interface import Model
from otelagents.models.openai_responses import OpenAIResponsesModel
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import MetricsEngine, MetricsServer
from otelagents.telemetry._observer import RunTelemetry, Telemetry
from otelagents.telemetry._stream_stats import ModelCallTelemetry
from otelagents.testing.scripted import ScriptedModel
from otelagents.testing.server import OpenAICompatServer, Reply
from tests.agents_sdk_helpers import SDKRig, drain, sdk, wait_run_done  # noqa: F401 - sdk is a fixture
from tests.test_streams_in_flight import gauges


def open_streams(telemetry: Telemetry) -> int:
    return sum(telemetry.streams.counts()[0].values())


async def until(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def ours(telemetry: Telemetry) -> list[weakref.ref[Any]]:
    """Weak references to this telemetry's live run and model-call observations."""
    found: list[weakref.ref[Any]] = []
    for obj in gc.get_objects():
        if isinstance(obj, RunTelemetry) and obj.telemetry is telemetry:
            found.append(weakref.ref(obj))
        elif isinstance(obj, ModelCallTelemetry) and obj._run.telemetry is telemetry:
            found.append(weakref.ref(obj))
    return found


def abandon_in_flight(model: Model, telemetry: Telemetry, started: Callable[[], bool]) -> list[weakref.ref[Any]]:
    """Start a streamed run on its own event loop, and close the loop once ``started()``, without ending it."""
    agent: Agent[Any] = Agent(name="Abandoned", instructions="Answer.", model=model)
    refs: list[weakref.ref[Any]] = []

    async def start() -> None:
        result = Runner.run_streamed(agent, "go", run_config=RunConfig(observers=[telemetry]))

        async def consume() -> None:
            async for _ in result.stream_events():
                pass

        asyncio.ensure_future(consume())
        await until(started)
        refs.extend(ours(telemetry))

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(start(), 20))
    finally:
        loop.close()
    return refs


# The abandoned tasks are destroyed pending, and their coroutines cannot finish closing without a loop:
# what Python reports then is the scenario itself.
ABANDONED = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@ABANDONED
@pytest.mark.timeout(60)
def test_a_call_abandoned_with_its_loop_stops_counting_as_open_and_is_collected() -> None:
    telemetry = Telemetry(TracerProvider(), metrics=MetricsEngine(), stall_threshold_s=0.2)
    model = ScriptedModel(["one two three four five"], delta_delay=60.0)  # hangs after its first token
    refs = abandon_in_flight(model, telemetry, lambda: open_streams(telemetry) == 1 and bool(model.requests))
    assert len(refs) == 2  # the run and its model call were alive while the stream was open
    gc.collect()
    assert open_streams(telemetry) == 0
    assert [ref() for ref in refs] == [None, None]


@ABANDONED
@pytest.mark.timeout(60)
def test_a_call_abandoned_over_http_stops_counting_as_open_on_metrics() -> None:
    """Over the real client, anyio keeps the task of a cancel scope that never exited (and so the call):
    the stream still stops counting as open once its loop is closed."""
    engine = MetricsEngine()
    telemetry = Telemetry(TracerProvider(), metrics=engine, stall_threshold_s=0.2)
    with OpenAICompatServer() as server, MetricsServer(engine, port=0) as metrics:
        server.add(Reply.fault("stall", "one two three four five six", stall_seconds=20.0))
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        stalled = lambda: sum(telemetry.streams.counts()[1].values()) == 1  # noqa: E731
        abandon_in_flight(OpenAIResponsesModel("gpt-hang", client), telemetry, stalled)
        gc.collect()
        assert gauges(metrics.url) == {sc.METRIC_STREAMS_OPEN: 0.0, sc.METRIC_STREAMS_STALLED: 0.0}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("runs", [1, 3])
async def test_finished_runs_are_not_kept_by_copies_of_their_context(runs: int) -> None:
    """A timer that fires often (any periodic task) keeps the cancelled read timeouts of finished calls in the
    loop's schedule, each with a copy of its call's context: those copies must not hold the runs."""
    telemetry = Telemetry(TracerProvider(), metrics=MetricsEngine())
    ticking: Awaitable[None] = asyncio.ensure_future(_tick_forever())
    with OpenAICompatServer() as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        agent: Agent[Any] = Agent(name="Done", instructions="Answer.", model=OpenAIResponsesModel("gpt", client))
        for _ in range(runs):
            server.add(Reply.text("all done"))
            result = Runner.run_streamed(agent, "go", run_config=RunConfig(observers=[telemetry]))
            async for _ in result.stream_events():
                pass
            assert result.final_output == "all done"
        del result
        await asyncio.sleep(0.05)
        assert len(asyncio.get_running_loop()._scheduled) > 1  # type: ignore[attr-defined] # the copies exist
        gc.collect()
        assert [ref() for ref in ours(telemetry)] == []
        assert open_streams(telemetry) == 0
        await client.close()
    ticking.cancel()  # type: ignore[attr-defined]


@pytest.mark.timeout(60)
async def test_finished_sdk_runs_are_not_kept_by_copies_of_their_context(sdk: SDKRig) -> None:  # noqa: F811
    """The same through the Agents SDK plugin: its current-run variable is in those copies too."""
    import agents

    ticking = asyncio.ensure_future(_tick_forever())
    agent = agents.Agent(name="Done", instructions="Answer.", model=sdk.model("responses"))
    for _ in range(2):
        sdk.server.add(Reply.text("all done"))
        result = agents.Runner.run_streamed(agent, "go")
        await drain(result)
        await wait_run_done(result)
        assert result.final_output == "all done"
    del result
    await asyncio.sleep(0.05)
    gc.collect()
    assert [ref() for ref in ours(sdk.rig.telemetry)] == []
    ticking.cancel()


async def _tick_forever() -> None:
    while True:
        await asyncio.sleep(5)
