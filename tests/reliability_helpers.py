"""Shared pieces of the reliability tests: bounded runners, span/metric/task assertions, and the model server.

Every wait here is bounded: a run that hangs fails the test with a message naming what it was waiting
for, instead of stalling the suite. The assertions read what a user would see: the events and the error
from ``stream_events()``, the finished spans (through a real SDK tracer provider), the error counter of
the ``MetricsEngine``, and the event loop's tasks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import openai
import pytest

from otelagents import RunConfig, RunResultStreaming, StreamEvent
from otelagents.models.openai_provider import OpenAIProvider
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import MetricsEngine, NumberPoint
from otelagents.testing.server import OpenAICompatServer, RecordedRequest, Reply
from tests.runner_helpers import signature
from tests.telemetry_helpers import Rig

T = TypeVar("T")

OK, ERR = "UNSET", "ERROR"
CANCELLED = sc.ERROR_TYPE_CANCELLED
APIS = ("responses", "chat_completions")


# --- bounded waits ---------------------------------------------------------------------------------------

async def bounded(awaitable: Awaitable[T], timeout_s: float, what: str) -> T:
    """``await awaitable`` for at most ``timeout_s``; a hang fails the test naming ``what``."""
    try:
        return await asyncio.wait_for(awaitable, timeout_s)
    except asyncio.TimeoutError:
        pytest.fail(f"{what} did not finish within {timeout_s} s (a hang)")


@dataclass
class Consumed:
    """What a consumer saw: the events, the error ``stream_events()`` raised (if any), and how long it took."""

    events: list[StreamEvent]
    error: BaseException | None
    elapsed_s: float

    def signatures(self) -> list[tuple[str, ...]]:
        return [signature(e) for e in self.events]

    def deltas(self) -> int:
        return sum(1 for s in self.signatures() if s[0] == "raw" and s[1].endswith(".delta"))


async def consume(result: RunResultStreaming, timeout_s: float = 10.0) -> Consumed:
    """Iterate the whole stream within ``timeout_s``; the run's error is returned, not raised."""
    events: list[StreamEvent] = []
    error: BaseException | None = None
    started = time.monotonic()

    async def run() -> None:
        async for event in result.stream_events():
            events.append(event)

    try:
        await asyncio.wait_for(run(), timeout_s)
    except asyncio.TimeoutError:
        last = signature(events[-1]) if events else None
        pytest.fail(f"the stream did not end within {timeout_s} s (a hang) after {len(events)} events; last {last}")
    except Exception as exc:  # noqa: BLE001 - returned for the caller to assert on
        error = exc
    return Consumed(events, error, time.monotonic() - started)


async def run_finished(result: RunResultStreaming, timeout_s: float = 5.0) -> asyncio.Task[Any]:
    """Wait (bounded) until the run's background task is done; returns it."""
    task = result.run_loop_task
    assert task is not None, "run_streamed() made no run task"
    await bounded(asyncio.wait([task]), timeout_s, "the run's background task")
    return task


def others() -> list[asyncio.Task[Any]]:
    current = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t is not current and not t.done()]


async def assert_no_pending_tasks(timeout_s: float = 2.0) -> None:
    """No asyncio task but the test's own is left pending (waits up to ``timeout_s`` for stragglers)."""
    deadline = time.monotonic() + timeout_s
    while others() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    left = others()
    assert not left, f"tasks left pending: {[t.get_name() + ' ' + repr(t.get_coro()) for t in left]}"


async def wait_until(predicate: Any, timeout_s: float, what: str) -> None:
    """Poll ``predicate()`` every 10 ms until true; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout_s} s")
        await asyncio.sleep(0.01)


# --- spans ----------------------------------------------------------------------------------------------

def assert_all_closed(rig: Rig) -> None:
    """Every span that started has ended, exactly once."""
    assert rig.tracker.open == {}, f"spans left open: {rig.tracker.open}"
    assert rig.tracker.ended_twice == [], f"spans ended twice: {rig.tracker.ended_twice}"


def span_outcomes(rig: Rig) -> dict[str, set[tuple[str, Any]]]:
    """Per operation (first word of the span name): the set of (status, error.type) its spans ended with."""
    out: dict[str, set[tuple[str, Any]]] = {}
    for span in rig.spans():
        operation = span.name.split(" ", 1)[0]
        out.setdefault(operation, set()).add(
            (span.status.status_code.name, (span.attributes or {}).get(sc.ERROR_TYPE)))
    return out


def assert_every_span(rig: Rig, status: str, error_type: str | None, *,
                      operations: Iterable[str] | None = None) -> None:
    """Every span (of ``operations``, default all) ended with ``status`` and ``error.type`` ``error_type``;
    and no span is left open."""
    assert_all_closed(rig)
    wanted = set(operations) if operations is not None else None
    outcomes = span_outcomes(rig)
    assert outcomes, "no span was exported"
    if wanted is not None:
        assert wanted <= set(outcomes), f"missing spans for {wanted - set(outcomes)}; got {sorted(outcomes)}"
    for operation, seen in outcomes.items():
        if wanted is None or operation in wanted:
            assert seen == {(status, error_type)}, f"{operation} spans ended with {seen}, not {(status, error_type)}"


def chat_finish_reasons(rig: Rig) -> list[Any]:
    return [(s.attributes or {}).get(sc.GEN_AI_RESPONSE_FINISH_REASONS) for s in rig.spans()
            if s.name.startswith("chat ")]


# --- metrics --------------------------------------------------------------------------------------------

def error_counts(engine: MetricsEngine) -> dict[tuple[str, str], float]:
    """``otelagents.errors`` by (operation, error.type), read from the engine's snapshot."""
    counts: dict[tuple[str, str], float] = {}
    for snap in engine.collect():
        if snap.name != sc.METRIC_ERRORS:
            continue
        for point in snap.points:
            if isinstance(point, NumberPoint) and point.value:
                key = (str(point.attributes[sc.GEN_AI_OPERATION_NAME]), str(point.attributes[sc.ERROR_TYPE]))
                counts[key] = counts.get(key, 0) + point.value
    return counts


def run_failed(error_type: str, *, chat: int = 1) -> dict[tuple[str, str], float]:
    """The error counts of a run that failed with ``error_type`` in (``chat``) model calls."""
    counts = {(sc.OP_INVOKE_AGENT, error_type): 1.0, (sc.OP_INVOKE_WORKFLOW, error_type): 1.0}
    if chat:
        counts[(sc.OP_CHAT, error_type)] = float(chat)
    return counts


# --- the OpenAI-compatible server, over the real openai client -----------------------------------------

@dataclass
class OpenAIRig:
    """A local model server and a real ``AsyncOpenAI`` client for it, for one API."""

    server: OpenAICompatServer
    client: openai.AsyncOpenAI
    api: str

    def provider(self) -> OpenAIProvider:
        return OpenAIProvider(openai_client=self.client, use_responses=self.api == "responses")

    def config(self, rig: Rig | None = None, **kwargs: Any) -> RunConfig:
        observers = [rig.telemetry] if rig is not None else []
        return RunConfig(model_provider=self.provider(), observers=observers, **kwargs)


@dataclass
class ClientOptions:
    max_retries: int = 0
    timeout_s: float = 10.0


def make_client(base_url: str, options: ClientOptions, api_key: str = "test-key") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=options.max_retries,
                              timeout=options.timeout_s)


@dataclass
class ServerHandle:
    """Started by the ``model_server`` fixture; makes clients that are closed when the test ends.

    Requests take the replies queued with ``server.add`` first, then ask ``responder`` (if set).
    """

    server: OpenAICompatServer
    clients: list[openai.AsyncOpenAI] = field(default_factory=list)
    responder: Callable[[RecordedRequest], Reply] | None = None

    def _respond(self, request: RecordedRequest) -> Reply | None:
        return self.responder(request) if self.responder is not None else None

    def rig(self, api: str, *, max_retries: int = 0, timeout_s: float = 10.0, api_key: str = "test-key",
            base_url: str | None = None) -> OpenAIRig:
        client = make_client(base_url or self.server.base_url, ClientOptions(max_retries, timeout_s), api_key)
        self.clients.append(client)
        return OpenAIRig(self.server, client, api)


@pytest.fixture
async def model_server() -> AsyncIterator[ServerHandle]:
    """A started ``OpenAICompatServer``; clients made through it are closed after the test."""
    handles: list[ServerHandle] = []
    with OpenAICompatServer(responder=lambda request: handles[0]._respond(request)) as server:  # type: ignore[arg-type,return-value]
        handle = ServerHandle(server)
        handles.append(handle)
        yield handle
        for client in handle.clients:
            await client.close()


def tool_outputs(request: RecordedRequest) -> list[str]:
    """The tool results a request sent back to the model (either API)."""
    body = request.body
    if request.api == "chat_completions":
        return [m["content"] for m in body["messages"] if m.get("role") == "tool"]
    items = body["input"] if isinstance(body["input"], list) else []
    return [i["output"] for i in items if i.get("type") == "function_call_output"]


def user_text(request: RecordedRequest) -> str:
    body = request.body
    items: Iterator[Mapping[str, Any]]
    if request.api == "chat_completions":
        items = iter(body["messages"])
    else:
        items = iter(body["input"]) if isinstance(body["input"], list) else iter([{"role": "user",
                                                                                    "content": body["input"]}])
    for item in items:
        if item.get("role") == "user":
            return str(item["content"])
    raise AssertionError(f"no user message in {body!r}")
