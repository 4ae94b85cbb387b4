"""A varied agent workload over real HTTP, with telemetry served on ``/metrics``, for the end-to-end tests.

``E2EWorkload`` starts the OpenAI-compatible test server and a ``MetricsServer`` over its own
``MetricsEngine``, and runs rounds of scenarios through the real ``openai.AsyncOpenAI`` client and both
OpenAI adapters: plain text over each API, a tool call in parallel with a tool that raises (handled), a
handoff from a Responses agent to a Chat Completions agent, a stream with gaps above the stall threshold
over each API, a ``response.failed`` and an HTTP 500 that outlasts the client's retries. Telemetry goes
only through ``RunConfig(observers=[...])``: nothing global is touched.

What the workload did is tallied from the script itself (``Expected``), never from the telemetry, so a test
can compare what Prometheus holds with what really happened. Every reply streams its first delta after
``TTFT_S`` and the next ones ``GAP_S`` apart (``STALL_GAP_S`` for the stalling streams).

::

    with scraped_workload(prometheus_binary) as scraped:    # two rounds, scraped every second
        scraped.prom.query("...", time=scraped.eval_time)
        scraped.workload.expected.calls                     # model calls by request model
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import openai
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from typing_extensions import Self

from otelagents import Agent, RunConfig, Runner, function_tool
from otelagents.models.openai_chatcompletions import OpenAIChatCompletionsModel
from otelagents.models.openai_responses import OpenAIResponsesModel
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import MetricsEngine, MetricsServer
from otelagents.telemetry._observer import Telemetry
from otelagents.testing.prometheus import JOB_NAME, PrometheusServer
from otelagents.testing.server import OpenAICompatServer, Reply

# A time to first token is always above TTFT_S (the server waits that long after the request arrives), so
# never in the 0.32 s bucket; on an idle machine it is in the 0.64 s one (a starved client can be later).
TTFT_S = 0.33  # the server's delay before every reply's first output delta
GAP_S = 0.02  # between output deltas
STALL_GAP_S = 0.4  # between the deltas of the stalling streams
# Telemetry(stall_threshold_s=...): a chunk-gap bucket bound, so stalls == gaps above the le="0.2" bucket.
STALL_THRESHOLD_S = 0.2
RESPONSES_MODEL = "gpt-e2e-responses"
CHAT_MODEL = "gpt-e2e-chat"
CLIENT_RETRIES = 1  # the openai client's max_retries: an HTTP 500 is tried twice

# The error.type each failure is reported with (the exception class name).
FAILED_RESPONSE_ERROR = "ModelBehaviorError"
HTTP_500_ERROR = "InternalServerError"
TOOL_ERROR = "ValueError"


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@function_tool
def broken_tool(city: str) -> str:
    """A tool that always fails; the error is reported to the model and the run carries on."""
    raise ValueError(f"no station in {city}")


@dataclass
class Expected:
    """What the workload did, counted from its script (never from telemetry)."""

    calls: Counter[str] = field(default_factory=Counter)  # model calls by request model
    failed_calls: Counter[tuple[str, str]] = field(default_factory=Counter)  # (model, error.type)
    streams: Counter[str] = field(default_factory=Counter)  # calls answered with a stream (time to first chunk)
    calls_with_output: Counter[str] = field(default_factory=Counter)  # calls with >= 1 output delta (TTFT)
    chunk_gaps: Counter[str] = field(default_factory=Counter)  # sum over calls of (output deltas - 1)
    stalls: Counter[str] = field(default_factory=Counter)  # scripted gaps above the stall threshold
    tokens: Counter[tuple[str, str]] = field(default_factory=Counter)  # (model, "input"/"output") sums
    token_calls: Counter[str] = field(default_factory=Counter)  # calls whose stream reported usage
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)  # (operation, error.type)
    tool_calls: Counter[tuple[str, str]] = field(default_factory=Counter)  # (tool, error.type or "")
    handoffs: Counter[tuple[str, str]] = field(default_factory=Counter)  # (source, target)
    agent_segments: Counter[str] = field(default_factory=Counter)
    runs: Counter[str] = field(default_factory=Counter)  # by outcome: "ok" or the error.type
    rounds: int = 0

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


@dataclass(frozen=True)
class _Call:
    """One model call as scripted: the HTTP replies it is served (several when the client retries)."""

    model: str
    replies: tuple[Reply, ...]
    deltas: int = 0
    usage: tuple[int, int] | None = None
    gap: float = GAP_S
    error: str | None = None


def _text(model: str, chunks: int, usage: tuple[int, int], gap: float = GAP_S) -> _Call:
    words = " ".join(f"word{i}" for i in range(chunks))
    reply = Reply.text(words, chunks=chunks, usage=(*usage, 0, 0), ttft=TTFT_S, gap=gap)
    return _Call(model, (reply,), chunks, usage, gap)


def _tools(model: str, calls: Sequence[tuple[str, dict[str, Any]]], usage: tuple[int, int]) -> _Call:
    reply = Reply.tool_calls(list(calls), usage=(*usage, 0, 0), ttft=TTFT_S, gap=GAP_S)
    return _Call(model, (reply,), 2 * len(calls), usage)  # the server splits each call's arguments in two


def _failed(model: str) -> _Call:
    return _Call(model, (Reply.fault("failed", ttft=TTFT_S),), error=FAILED_RESPONSE_ERROR)


def _http_500(model: str) -> _Call:
    reply = Reply.status(500, retry_after=0.01, message="scripted outage")
    return _Call(model, (reply,) * (CLIENT_RETRIES + 1), error=HTTP_500_ERROR)


@dataclass(frozen=True)
class _Scenario:
    name: str
    agent: str  # the starting agent
    calls: tuple[_Call, ...]
    tools: tuple[tuple[str, str | None], ...] = ()  # (tool, error.type) run, handoff tools included
    handoff: tuple[str, str] | None = None
    segments: tuple[str, ...] = ()  # agents that run a segment, in order (default: just ``agent``)
    error: str | None = None  # the run's error.type when it fails


def _scenarios() -> list[_Scenario]:
    r, c = RESPONSES_MODEL, CHAT_MODEL
    return [
        _Scenario("plain", "Greeter", (_text(r, 8, (21, 8)),)),
        _Scenario("plain-chat", "ChatGreeter", (_text(c, 6, (17, 6)),)),
        _Scenario("tools", "Forecaster", (_tools(r, [("get_weather", {"city": "Paris"}),
                                                     ("broken_tool", {"city": "Oslo"})], (30, 11)),
                                          _text(r, 5, (44, 5))),
                  tools=(("get_weather", None), ("broken_tool", TOOL_ERROR))),
        _Scenario("handoff", "Triage", (_tools(r, [("transfer_to_spanish_agent", {})], (25, 3)),
                                        _text(c, 7, (52, 7))),
                  tools=(("transfer_to_spanish_agent", None),), handoff=("Triage", "Spanish Agent"),
                  segments=("Triage", "Spanish Agent")),
        _Scenario("stall", "Greeter", (_text(r, 2, (19, 2), gap=STALL_GAP_S),)),
        _Scenario("stall-chat", "ChatGreeter", (_text(c, 4, (23, 4), gap=STALL_GAP_S),)),
        _Scenario("failed", "Greeter", (_failed(r),), error=FAILED_RESPONSE_ERROR),
        _Scenario("http-500", "ChatGreeter", (_http_500(c),), error=HTTP_500_ERROR),
    ]


class E2EWorkload:
    """The test server, the metrics server and the telemetry; ``run_round()`` runs every scenario once."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.engine = MetricsEngine()
        self.telemetry = Telemetry(self.tracer_provider, metrics=self.engine, stall_threshold_s=STALL_THRESHOLD_S)
        self.server = OpenAICompatServer()
        self.metrics_server = MetricsServer(self.engine, port=0)
        self.expected = Expected()
        self.warmed_up = False

    # --- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> Self:
        self.server.start()
        self.metrics_server.start()
        return self

    def close(self) -> None:
        self.metrics_server.close()
        self.server.close()
        self.tracer_provider.shutdown()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def target(self) -> str:
        """The scrape target of ``/metrics``: ``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.metrics_server.port}"

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    # --- the workload ---------------------------------------------------------------------------------------
    def run_round(self, timeout_s: float = 60.0) -> float:
        """Run every scenario once, one after the other; returns the seconds it took. Bounded by ``timeout_s``."""
        started = time.monotonic()
        try:
            asyncio.run(asyncio.wait_for(self._round(), timeout_s))
        except TimeoutError as exc:
            raise TimeoutError(f"a workload round took more than {timeout_s:.0f} s ({len(self.server.requests)} "
                               f"requests served so far): is the machine overloaded?") from exc
        if self.server.pending:
            raise AssertionError(f"{self.server.pending} scripted replies were not asked for: the workload made "
                                 f"fewer requests than scripted")
        self.expected.rounds += 1
        return time.monotonic() - started

    async def _round(self) -> None:
        client = openai.AsyncOpenAI(base_url=self.server.base_url, api_key="test", max_retries=CLIENT_RETRIES)
        try:
            agents = self._agents(client)
            if not self.warmed_up:  # a first stream pays one-off import and pydantic costs; keep them off TTFT
                for name in ("Greeter", "ChatGreeter"):  # one per API, with no telemetry
                    self.server.add(Reply.text("warm up"))
                    await Runner.run(agents[name], "warm up")
                self.warmed_up = True
            for scenario in _scenarios():
                await self._run(scenario, agents)
        finally:
            await client.close()

    def _agents(self, client: openai.AsyncOpenAI) -> dict[str, Agent[Any]]:
        responses = OpenAIResponsesModel(RESPONSES_MODEL, client)
        chat = OpenAIChatCompletionsModel(CHAT_MODEL, client)
        spanish: Agent[Any] = Agent(name="Spanish Agent", instructions="Reply in Spanish.", model=chat,
                                    handoff_description="Speaks Spanish.")
        agents = [
            Agent(name="Greeter", instructions="Greet.", model=responses),
            Agent(name="ChatGreeter", instructions="Greet.", model=chat),
            Agent(name="Forecaster", instructions="Forecast.", model=responses, tools=[get_weather, broken_tool]),
            Agent(name="Triage", instructions="Route.", model=responses, handoffs=[spanish]),
            spanish,
        ]
        return {agent.name: agent for agent in agents}

    async def _run(self, scenario: _Scenario, agents: dict[str, Agent[Any]]) -> None:
        for call in scenario.calls:
            self.server.add(*call.replies)
        result = Runner.run_streamed(agents[scenario.agent], f"[{scenario.name}] hello",
                                     run_config=RunConfig(observers=[self.telemetry], workflow_name="e2e"))
        error: str | None = None
        try:
            async for _ in result.stream_events():
                pass
        except Exception as exc:  # noqa: BLE001 - compared with the script below
            error = type(exc).__name__
        if error != scenario.error:
            raise AssertionError(f"scenario {scenario.name!r} ended with {error or 'success'}, expected "
                                 f"{scenario.error or 'success'}")
        self._tally(scenario)

    def _tally(self, scenario: _Scenario) -> None:
        e = self.expected
        for call in scenario.calls:
            e.calls[call.model] += 1
            if call.replies[-1].http_status is None:
                e.streams[call.model] += 1
            if call.deltas:
                e.calls_with_output[call.model] += 1
                e.chunk_gaps[call.model] += call.deltas - 1
                if call.gap > STALL_THRESHOLD_S:
                    e.stalls[call.model] += call.deltas - 1
            if call.usage is not None:
                e.token_calls[call.model] += 1
                e.tokens[(call.model, sc.TOKEN_TYPE_INPUT)] += call.usage[0]
                e.tokens[(call.model, sc.TOKEN_TYPE_OUTPUT)] += call.usage[1]
            if call.error is not None:
                e.failed_calls[(call.model, call.error)] += 1
                e.errors[(sc.OP_CHAT, call.error)] += 1
        for tool, tool_error in scenario.tools:
            e.tool_calls[(tool, tool_error or "")] += 1
            if tool_error is not None:
                e.errors[(sc.OP_EXECUTE_TOOL, tool_error)] += 1
        if scenario.handoff is not None:
            e.handoffs[scenario.handoff] += 1
        for agent in scenario.segments or (scenario.agent,):
            e.agent_segments[agent] += 1
        if scenario.error is not None:
            e.errors[(sc.OP_INVOKE_AGENT, scenario.error)] += 1
            e.errors[(sc.OP_INVOKE_WORKFLOW, scenario.error)] += 1
        e.runs[scenario.error or "ok"] += 1


def chat_span_ids(spans: Sequence[ReadableSpan]) -> set[tuple[str, str]]:
    """``(trace_id, span_id)`` in hex of every exported ``chat`` span."""
    return {(f"{s.context.trace_id:032x}", f"{s.context.span_id:016x}") for s in spans
            if s.name.startswith(f"{sc.OP_CHAT} ")}


def chat_span_values(spans: Sequence[ReadableSpan], attribute: str) -> dict[str, list[float]]:
    """The values of a numeric attribute on the exported ``chat`` spans that carry it, by request model."""
    found: dict[str, list[float]] = {}
    for span in spans:
        attrs = span.attributes or {}
        value = attrs.get(attribute)
        if span.name.startswith(f"{sc.OP_CHAT} ") and isinstance(value, float):
            found.setdefault(str(attrs[sc.GEN_AI_REQUEST_MODEL]), []).append(value)
    return found


CALLS_METRIC = "gen_ai_client_operation_duration_seconds_count"
SCRAPE_INTERVAL_S = 1.0


@dataclass(frozen=True)
class Scraped:
    """A workload of two rounds that Prometheus has scraped in full.

    Round one creates every series (Prometheus's first scrape may fall in its middle); round two starts
    only once a scrape holds all of round one, so every counter and bucket increased between two scrapes
    and ``rate()`` over ``rate_window`` (from before round two to ``eval_time``) is positive. Query at
    ``eval_time``.
    """

    workload: E2EWorkload
    prom: PrometheusServer
    eval_time: float  # unix seconds: just after a successful scrape, at least two scrapes after the workload
    rate_window: str  # a PromQL duration covering a scrape of round one's values and the last scrapes
    started: float  # unix seconds when Prometheus started

    @property
    def instance(self) -> str:
        return self.workload.target


def _scrapes(prom: PrometheusServer) -> int:
    result = prom.query(f'sum_over_time(up{{job="{JOB_NAME}"}}[1h])')
    return int(float(result[0]["value"][1])) if result else 0


@contextmanager
def scraped_workload(prometheus_binary: str, *, rule_files: Sequence[str] = (), timeout_s: float = 120.0,
                     workload_type: type[E2EWorkload] | None = None) -> Iterator[Scraped]:
    """Start the workload's servers and a Prometheus scraping them every second, run two rounds, and wait
    until Prometheus holds all of it (two scrapes after the end). Every wait is bounded by ``timeout_s``.
    ``workload_type``: another front door for the same scenarios (the Agents SDK plugin's workload)."""
    with (workload_type or E2EWorkload)() as workload:
        prom = PrometheusServer([workload.target], scrape_interval_s=SCRAPE_INTERVAL_S, rule_files=rule_files,
                                binary=prometheus_binary, extra_flags=("--enable-feature=exemplar-storage",))
        started = time.time()
        with prom:
            deadline = time.monotonic() + timeout_s
            calls = f'sum({CALLS_METRIC}{{job="{JOB_NAME}"}})'
            workload.run_round(_left(deadline))  # while Prometheus waits ~5 s for its first scrape
            prom.wait_until(f"{calls} == {workload.expected.total_calls}", _left(deadline))
            before_second = time.time()
            workload.run_round(_left(deadline))
            prom.wait_until(f"{calls} == {workload.expected.total_calls}", _left(deadline))
            prom.wait_for_scrapes(_scrapes(prom) + 2, _left(deadline))
            eval_time = _just_after_a_good_scrape(prom, deadline)
            window = max(15, math.ceil(eval_time - before_second) + 3 * int(SCRAPE_INTERVAL_S))
            yield Scraped(workload, prom, eval_time, f"{window}s", started)


def _just_after_a_good_scrape(prom: PrometheusServer, deadline: float) -> float:
    """A moment just after the latest scrape, once that scrape succeeded.

    A failed scrape (on a busy machine, /metrics can outlast the 1 s scrape timeout) marks every series
    stale, so instant queries at a later time find nothing; at this moment every series is live.
    """
    target = f'{{job="{JOB_NAME}"}}'
    while True:
        now = time.time()
        up = prom.query(f"up{target}", time=now)
        stamp = prom.query(f"timestamp(up{target})", time=now)
        if up and stamp and float(up[0]["value"][1]) == 1.0:
            return float(stamp[0]["value"][1]) + 0.001
        _left(deadline)
        time.sleep(0.2)


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the end-to-end workload and its scrapes took longer than their time budget")
    return left
