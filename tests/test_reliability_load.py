"""Reliability under load: 1000 concurrent streamed runs against the local server, and memory over rounds.

Every run is tagged (``RunConfig(trace_metadata={"run": i})``) and asks a question only it can answer
(``"run i"``): even runs call a tool with ``call_i`` and then answer, odd runs just answer. So each trace
must hold exactly its own run's spans, in its own shape, with its own tool call id: any cross-talk between
concurrent runs (a span parented into another run's trace, a context leaking between tasks) breaks it.

The server runs in its own process (so it does not compete with the runs for the GIL), and the runs share
16 ``AsyncOpenAI`` clients: httpcore's connection pool scans every pooled connection for each request, so a
single client holding 1000 connections took about twice as long in our measurements (68 s against 34 s on a
busy 2-core machine; about 16 s with 16 clients on an idle one).
"""

from __future__ import annotations

import asyncio
import gc
import os
import select
import signal
import socket
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otelagents import Agent, ModelResponse, RunConfig, RunContextWrapper, Runner, RunResultStreaming, function_tool
from otelagents._run_loop import RunLoop
from otelagents.models.openai_provider import OpenAIProvider
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import MetricsEngine
from otelagents.telemetry._observer import AgentTelemetry, RunTelemetry, Telemetry
from otelagents.telemetry._stream_stats import ModelCallTelemetry
from otelagents.telemetry._tool_spans import ToolTelemetry
from otelagents.testing.server import OpenAICompatServer, Reply
from tests.reliability_helpers import OK, assert_all_closed, assert_no_pending_tasks, bounded
from tests.telemetry_helpers import Rig, make_rig, tree

ROOT = Path(__file__).resolve().parent.parent
# What one run creates; none may outlive its run.
PER_RUN_TYPES = frozenset((RunResultStreaming, RunLoop, RunContextWrapper, ModelResponse, RunTelemetry,
                           AgentTelemetry, ModelCallTelemetry, ToolTelemetry, asyncio.Task))
CLIENTS = 16
POOL = 4  # connections per client in the memory test
PER_ROUND = 200  # runs per round in the memory test
RUNS = 1000

SERVER_SCRIPT = textwrap.dedent("""
    import sys
    from otelagents.testing.server import OpenAICompatServer, Reply

    def respond(request):
        body = request.body
        user = next(i["content"] for i in body["input"] if i.get("role") == "user")
        n = int(str(user).split()[-1])
        if any(i.get("type") == "function_call_output" for i in body["input"]):
            return Reply.text(f"done {n}", ttft=0.005)
        if n % 2 == 0:
            return Reply.tool_calls([("echo", {"n": n}, f"call_{n}")], ttft=0.005)
        return Reply.text(f"done {n}", ttft=0.005)

    server = OpenAICompatServer(responder=respond)
    print(server.port, flush=True)
    try:
        server._httpd.serve_forever(poll_interval=0.2)
    finally:
        server.close()
""")


@function_tool
def echo(n: int) -> int:
    """Echo a number."""
    return n


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """The base URL of the load server, running in its own process for the module's tests."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT], stdout=subprocess.PIPE, cwd=ROOT, env=env)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "the load server did not start within 30 s"
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
async def providers(server_url: str) -> AsyncIterator[list[OpenAIProvider]]:
    clients = [openai.AsyncOpenAI(base_url=server_url, api_key="load-key", max_retries=0, timeout=60)
               for _ in range(CLIENTS)]
    yield [OpenAIProvider(openai_client=c, use_responses=True) for c in clients]
    for client in clients:
        await client.close()


async def run_all(numbers: range, telemetry: Telemetry, providers: list[OpenAIProvider]) -> dict[int, Any]:
    """Start every run at once and consume each stream in its own task; returns final outputs by run."""
    agent = Agent("loader", model="gpt-test", tools=[echo])

    async def one(i: int) -> Any:
        config = RunConfig(observers=[telemetry], model_provider=providers[i % len(providers)],
                           trace_metadata={"run": i})
        result = Runner.run_streamed(agent, f"run {i}", run_config=config)
        async for _ in result.stream_events():
            pass
        return result.final_output

    outputs = await asyncio.gather(*(one(i) for i in numbers), return_exceptions=True)
    failed = [(i, o) for i, o in zip(numbers, outputs, strict=True) if isinstance(o, BaseException)]
    assert not failed, f"{len(failed)} of {len(numbers)} runs failed, e.g. {failed[:3]}"
    return dict(zip(numbers, outputs, strict=True))


def expected_tree(i: int) -> list[Any]:
    children = [("chat gpt-test", "CLIENT", OK, None, [])]
    if i % 2 == 0:
        children += [("execute_tool echo", "INTERNAL", OK, None, []), ("chat gpt-test", "CLIENT", OK, None, [])]
    return [("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
        ("invoke_agent loader", "INTERNAL", OK, None, children)])]


def check_traces(rig: Rig, numbers: range) -> None:
    """One trace per run, with exactly that run's spans, parented inside the trace, in that run's shape."""
    by_trace: dict[int, list[Any]] = defaultdict(list)
    for span in rig.spans():
        by_trace[span.context.trace_id].append(span)
    assert len(by_trace) == len(numbers), f"{len(by_trace)} traces for {len(numbers)} runs"
    seen_runs = []
    for spans in by_trace.values():
        ids = {s.context.span_id for s in spans}
        roots = [s for s in spans if s.parent is None]
        assert len(roots) == 1 and roots[0].name == "invoke_workflow Agent workflow", [s.name for s in roots]
        for span in spans:
            assert span.parent is None or span.parent.span_id in ids, f"{span.name} has a parent outside its trace"
        run = (roots[0].attributes or {})[sc.OTELAGENTS_METADATA_PREFIX + "run"]
        seen_runs.append(run)
        assert tree(spans) == expected_tree(run), f"run {run}: {tree(spans)}"
        calls = [(s.attributes or {})[sc.GEN_AI_TOOL_CALL_ID] for s in spans if s.name == "execute_tool echo"]
        assert calls == ([f"call_{run}"] if run % 2 == 0 else []), f"run {run} holds tool calls {calls}"
    assert sorted(seen_runs) == list(numbers)


@pytest.mark.timeout(180)
async def test_1000_concurrent_streamed_runs(providers: list[OpenAIProvider]) -> None:
    rig = make_rig()
    started = time.monotonic()
    outputs = await bounded(run_all(range(RUNS), rig.telemetry, providers), 150, f"{RUNS} concurrent runs")
    elapsed = time.monotonic() - started
    assert outputs == {i: f"done {i}" for i in range(RUNS)}
    assert len(rig.spans()) == RUNS * 3 + (RUNS // 2) * 2
    check_traces(rig, range(RUNS))
    assert_all_closed(rig)
    await assert_no_pending_tasks()
    print(f"\n{RUNS} concurrent streamed runs ({RUNS * 3 // 2} model calls): {elapsed:.1f} s")
    assert elapsed < 90, f"{RUNS} concurrent runs took {elapsed:.1f} s"


class SpanCounter(SpanProcessor):
    """Counts spans started and ended, keeping nothing per span (so it cannot hold memory itself)."""

    def __init__(self) -> None:
        self.started = self.ended = 0

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.started += 1

    def on_end(self, span: ReadableSpan) -> None:
        self.ended += 1


@pytest.mark.timeout(180)
async def test_memory_returns_to_its_baseline_across_rounds(server_url: str) -> None:
    """A warm-up, then three rounds of concurrent runs: the memory held after each round (after gc) stays at
    the first round's level, with no upward trend; and what otelagents' and OpenTelemetry's own code holds
    does not grow at all. Only the test's own span store is cleared between rounds.

    Tracing starts before the warm-up, so that long-lived objects replaced during a round (pooled connections,
    cache entries) are not mistaken for growth. Each client's pool is capped small: a pooled connection keeps
    the context it was opened in (asyncio's reader callback copies it), so it keeps one ended span of the run
    that opened it alive until it is replaced (bounded by the pool size, but noise between rounds).
    """
    limits = httpx2.Limits(max_connections=POOL, max_keepalive_connections=POOL)
    clients = [openai.AsyncOpenAI(base_url=server_url, api_key="load-key", max_retries=0, timeout=60,
                                  http_client=openai.DefaultAsyncHttpxClient(limits=limits))
               for _ in range(CLIENTS)]
    providers = [OpenAIProvider(openai_client=c, use_responses=True) for c in clients]
    provider, exporter, counter = TracerProvider(), InMemorySpanExporter(), SpanCounter()
    provider.add_span_processor(counter)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry(provider, metrics=MetricsEngine())

    async def round_of(numbers: range) -> tracemalloc.Snapshot:
        outputs = await bounded(run_all(numbers, telemetry, providers), 60, f"runs {numbers}")
        assert outputs == {i: f"done {i}" for i in numbers}
        assert counter.started == counter.ended == len(exporter.get_finished_spans()) > 0
        exporter.clear()
        counter.started = counter.ended = 0
        await assert_no_pending_tasks()
        for _ in range(3):  # let the loop run the done-callbacks still queued (gather's, the tasks')
            await asyncio.sleep(0)
        gc.collect()
        gc.collect()
        current = asyncio.current_task()
        live = [o for o in gc.get_objects() if type(o) in PER_RUN_TYPES and o is not current]  # no isinstance:
        # it would fill ABC caches, which the next snapshot would count as growth
        if live:
            holders = [type(r).__name__ for r in gc.get_referrers(live[0])]
            pytest.fail(f"{len(live)} objects of finished runs are still alive "
                        f"({sorted({type(o).__name__ for o in live})}), e.g. {live[0]!r} held by {holders}")
        # pydantic-core keeps the strings of the JSON it parses in a bounded cache (16384 entries), and every
        # run brings new ids: leave it out, with tracemalloc's own snapshots. Weak sets and dictionaries (the
        # loop's registry of tasks among them) keep the table their peak of concurrent entries needed, which
        # varies with the machine's load from round to round; what they refer to is not theirs to keep.
        return tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, "*/pydantic/main.py"),
                                                          tracemalloc.Filter(False, tracemalloc.__file__),
                                                          tracemalloc.Filter(False, "*/_weakrefset.py"),
                                                          tracemalloc.Filter(False, "*/weakref.py")])

    tracemalloc.start()
    try:
        await round_of(range(0, 100))  # warm-up: schemas, connection pools, caches
        snapshots = [await round_of(range(100 + r * PER_ROUND, 100 + (r + 1) * PER_ROUND)) for r in range(3)]
    finally:
        tracemalloc.stop()
        for client in clients:
            await client.close()
    held = [sum(s.size for s in snap.statistics("filename")) for snap in snapshots]
    print(f"\nheld after rounds of {PER_ROUND} runs: {[f'{h / 1e3:.0f} kB' for h in held]}")
    growth = [h - held[0] for h in held[1:]]
    top = "\n".join(str(stat) for stat in snapshots[-1].compare_to(snapshots[0], "lineno")[:8])
    assert max(growth) < 512 * PER_ROUND, f"memory grew by {growth} bytes after rounds of {PER_ROUND}:\n{top}"
    assert growth[1] - growth[0] < 256 * PER_ROUND, f"memory keeps growing: {growth}\n{top}"


async def test_server_queues_a_burst_of_connections_while_busy() -> None:
    """While the server process is stopped (as busy as it gets), the kernel must queue a burst of connects.

    With socketserver's default backlog of 5 only 6 were queued, and under load 30-400 of 200-1000 concurrent
    runs failed with ``ReadError``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "otelagents.testing.server", "--port", "0", "--print-port"],
                            stdout=subprocess.PIPE, cwd=ROOT, env=env)
    sockets: list[socket.socket] = []
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "the server did not start within 30 s"
        port = int(proc.stdout.readline())
        proc.send_signal(signal.SIGSTOP)
        for _ in range(50):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            sockets.append(sock)
        deadline = time.monotonic() + 1.0
        connected: set[socket.socket] = set()
        while len(connected) < len(sockets) and time.monotonic() < deadline:
            _, writable, _ = select.select([], [s for s in sockets if s not in connected], [], 0.05)
            connected.update(s for s in writable if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0)
        assert len(connected) == len(sockets), f"only {len(connected)} of {len(sockets)} connects were queued"
    finally:
        for sock in sockets:
            sock.close()
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
        proc.wait(5)


async def test_server_adds_no_latency_to_the_first_token() -> None:
    """With Nagle's algorithm on, each response's first chunk waited for the client's delayed ACK: ~40 ms more
    on every time to first token measured over the wire."""
    from otelagents.model_settings import ModelSettings
    from otelagents.models.interface import ModelTracing
    from otelagents.models.openai_responses import OpenAIResponsesModel

    with OpenAICompatServer(responder=lambda request: Reply.text("hello there")) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="latency-key", max_retries=0, timeout=10)
        model = OpenAIResponsesModel("gpt-test", client)
        firsts: list[float] = []
        try:
            for _ in range(10):
                started, first = time.perf_counter(), None
                stream = model.stream_response(None, "hi", ModelSettings(), [], None, [], ModelTracing.DISABLED)
                async for event in stream:
                    if first is None and event.type == "response.output_text.delta":
                        first = time.perf_counter() - started
                assert first is not None
                firsts.append(first)
        finally:
            await client.close()
    # Without the delay every request takes a few ms; with it, every keep-alive request takes 40 ms or more.
    assert min(firsts[1:]) < 0.03, f"time to first token over loopback: {[round(f * 1000) for f in firsts]} ms"
