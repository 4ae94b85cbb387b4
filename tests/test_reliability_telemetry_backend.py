"""Reliability: telemetry that cannot get out, and telemetry that breaks, must not change a run.

* An OTLP collector that refuses or hangs (gRPC and HTTP, spans and metrics): the runs give the same events
  and final output as without telemetry, in about the same time; flushing reports failure instead of
  raising; ``shutdown()`` is bounded; no exception escapes from any thread.
* An observer that raises: in production (``OTELAGENTS_STRICT_OBSERVERS=0``) the run goes on unchanged and
  the other observers still see everything; in strict mode (the default under pytest) the run fails with
  the observer's error, promptly, and every span of the other observers still ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GRPCMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GRPCSpanExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HTTPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HTTPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from otelagents import (
    Agent,
    AgentObservation,
    ModelCallObservation,
    RunConfig,
    Runner,
    RunObservation,
    RunObserver,
    ToolObservation,
    function_tool,
)
from otelagents.telemetry import TelemetryHandle
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import MetricsEngine, OTLPMetricsBridge
from otelagents.telemetry._observer import Telemetry
from otelagents.testing import ScriptedModel, tool_call
from otelagents.testing.otlp import OTLPReceiver
from tests.reliability_helpers import (
    ERR,
    OK,
    assert_all_closed,
    assert_every_span,
    assert_no_pending_tasks,
    consume,
    run_finished,
)
from tests.telemetry_helpers import Rig, make_rig

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")]

SHUTDOWN_S = 1.0


@function_tool
def lookup(key: str) -> str:
    """Look a key up."""
    return key.upper()


@function_tool
def flaky() -> str:
    """Always fails."""
    raise ConnectionError("backend unreachable")


def agent() -> Agent[Any]:
    """The same small run every time: two tools (one failing, handled), then a streamed answer."""
    script = [[tool_call("lookup", {"key": "k1"}), tool_call("flaky")], "All done, thank you."]
    return Agent("steady", model=ScriptedModel(script, delta_delay=0.002), tools=[lookup, flaky])


@dataclass
class Seen:
    """What a run looked like from outside: its events, final output, duration, and whether each model
    request carried a ``traceparent`` header."""

    events: list[tuple[str, ...]]
    output: Any
    elapsed_s: float
    traceparents: list[bool]


async def run_once(config: RunConfig) -> Seen:
    steady = agent()
    result = Runner.run_streamed(steady, "go", run_config=config)
    seen = await consume(result)
    assert seen.error is None, seen.error
    await run_finished(result)
    model = steady.model
    assert isinstance(model, ScriptedModel)
    sent = [bool((r.settings.extra_headers or {}).get("traceparent")) for r in model.requests]
    return Seen(seen.signatures(), result.final_output, seen.elapsed_s, sent)


# --- an OTLP collector that refuses or hangs ------------------------------------------------------------

def exporting_handle(receiver: OTLPReceiver, transport: str) -> TelemetryHandle:
    """Spans (batched) and metrics (every 50 ms) over OTLP to ``receiver``, as ``setup()`` would build them."""
    if transport == "grpc":
        span_exporter: Any = GRPCSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True, timeout=2)
        metric_exporter: Any = GRPCMetricExporter(endpoint=receiver.grpc_endpoint, insecure=True, timeout=2)
    else:
        span_exporter = HTTPSpanExporter(endpoint=f"{receiver.http_endpoint}/v1/traces", timeout=2)
        metric_exporter = HTTPMetricExporter(endpoint=f"{receiver.http_endpoint}/v1/metrics", timeout=2)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(span_exporter, schedule_delay_millis=20))
    engine = MetricsEngine()
    bridge = OTLPMetricsBridge(engine, metric_exporter, interval_s=0.05).start()
    return TelemetryHandle(Telemetry(provider, metrics=engine), provider, engine, None, (bridge,),
                           owns_tracer_provider=True)


@pytest.mark.parametrize("transport", ["grpc", "http"])
@pytest.mark.parametrize("behaviour", ["ok", "refuse", "hang"])
async def test_collector_that_refuses_or_hangs_changes_nothing(behaviour: str, transport: str) -> None:
    baseline = await run_once(RunConfig())
    with OTLPReceiver(hang_limit_s=10) as receiver:
        receiver.behaviour = behaviour
        handle = exporting_handle(receiver, transport)
        assert handle.telemetry is not None
        config = RunConfig(observers=[handle.telemetry])
        for _ in range(5):  # several runs, while the exporters keep trying in the background
            seen = await run_once(config)
            assert (seen.events, seen.output) == (baseline.events, baseline.output)
            assert seen.elapsed_s < baseline.elapsed_s + 1.0, f"a run took {seen.elapsed_s:.2f} s ({behaviour})"
        flushed = await asyncio.to_thread(handle.force_flush, 0.5)
        assert flushed is (behaviour == "ok")  # a failure is reported as a value, never raised
        started = time.monotonic()
        await asyncio.to_thread(handle.shutdown, SHUTDOWN_S)
        took = time.monotonic() - started
        assert took < SHUTDOWN_S + 1.5, f"shutdown took {took:.1f} s with a {behaviour} collector"
        if behaviour == "ok":  # the control case: the exporters really were pointed at the receiver
            names = {s.name for s in receiver.wait_for_spans(25, timeout_s=5)}
            assert {"invoke_workflow Agent workflow", "execute_tool flaky"} <= names
            assert receiver.wait_for_metrics(sc.METRIC_TIME_TO_FIRST_TOKEN, timeout_s=5)
        else:
            assert receiver.spans() == [] and receiver.metrics() == []
    await assert_no_pending_tasks()


# --- observers that raise --------------------------------------------------------------------------------

HOOKS = ("run_started", "agent_started", "model_call_started", "request_headers", "event", "model_call_ended",
         "tool_started", "tool_activate", "tool_ended", "agent_ended", "run_ended")


class ObserverBug(RuntimeError):
    pass


class Faulty(RunObserver):
    """Observes every hook and raises ``ObserverBug`` in one of them (``where``)."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, hook: str) -> None:
        if hook == self.where:
            raise ObserverBug(f"observer bug in {hook}")

    def run_started(self, run: Any) -> RunObservation:
        self.fail("run_started")
        return _Run(self)


class _Run(RunObservation):
    def __init__(self, owner: Faulty) -> None:
        self.owner = owner

    def agent_started(self, agent: Any, turn: int) -> AgentObservation:
        self.owner.fail("agent_started")
        return _Agent(self.owner)

    def ended(self, outcome: Any) -> None:
        self.owner.fail("run_ended")


class _Agent(AgentObservation):
    def __init__(self, owner: Faulty) -> None:
        self.owner = owner

    def model_call_started(self, call: Any) -> ModelCallObservation:
        self.owner.fail("model_call_started")
        return _Call(self.owner)

    def tool_started(self, call: Any) -> ToolObservation:
        self.owner.fail("tool_started")
        return _Tool(self.owner)

    def ended(self, outcome: Any) -> None:
        self.owner.fail("agent_ended")


class _Call(ModelCallObservation):
    def __init__(self, owner: Faulty) -> None:
        self.owner = owner

    def request_headers(self) -> dict[str, str]:
        self.owner.fail("request_headers")
        return {}

    def event(self, event: Any) -> None:
        self.owner.fail("event")

    def ended(self, response: Any, outcome: Any) -> None:
        self.owner.fail("model_call_ended")


class _Tool(ToolObservation):
    def __init__(self, owner: Faulty) -> None:
        self.owner = owner

    @contextmanager
    def activate(self) -> Iterator[None]:
        self.owner.fail("tool_activate")
        yield

    def ended(self, outcome: Any) -> None:
        self.owner.fail("tool_ended")


def healthy_view(rig: Rig) -> list[tuple[str, str, Any, Any]]:
    """What the healthy telemetry recorded: each span's name, status, error.type and output chunk count."""
    return sorted((s.name, s.status.status_code.name, (s.attributes or {}).get(sc.ERROR_TYPE),
                   (s.attributes or {}).get(sc.OTELAGENTS_OUTPUT_CHUNKS)) for s in rig.spans())


@pytest.mark.parametrize("where", HOOKS)
async def test_raising_observer_does_not_break_the_run_in_production(
        where: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("OTELAGENTS_STRICT_OBSERVERS", "0")
    reference = make_rig()
    baseline = await run_once(RunConfig(observers=[reference.telemetry]))
    rig = make_rig()
    with caplog.at_level(logging.WARNING, logger="otelagents.observer"):
        # The faulty observer comes first, so that it could starve the healthy one after it.
        seen = await run_once(RunConfig(observers=[Faulty(where), rig.telemetry]))
    assert (seen.events, seen.output) == (baseline.events, baseline.output)
    assert f"observer bug in {where}" in caplog.text  # reported, not hidden
    assert_all_closed(rig)
    assert healthy_view(rig) == healthy_view(reference)  # the healthy observer saw everything
    assert seen.traceparents == baseline.traceparents == [True, True]  # and propagated its context
    await assert_no_pending_tasks()


@pytest.mark.parametrize("where", HOOKS)
async def test_raising_observer_fails_the_run_in_strict_mode(where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTELAGENTS_STRICT_OBSERVERS", "1")
    rig = make_rig()
    result = Runner.run_streamed(agent(), "go", run_config=RunConfig(observers=[Faulty(where), rig.telemetry]))
    seen = await consume(result, timeout_s=3)
    assert isinstance(seen.error, ObserverBug) and str(seen.error) == f"observer bug in {where}"
    assert result.final_output is None
    await run_finished(result)
    assert_all_closed(rig)  # the healthy observer's spans all ended
    if where != "run_ended":
        # (When the run's own end is what raises, the healthy observer was told of a successful end in
        # the same call: every observer is called, then the first failure is raised.)
        assert_every_span(rig, ERR, "ObserverBug", operations=("invoke_workflow",))
    await assert_no_pending_tasks()


class BrokenProcessor(SpanProcessor):
    """A span processor that raises: the ``Telemetry`` observer's own calls into the SDK fail."""

    def __init__(self, where: str) -> None:
        self.where = where

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.where == "on_start":
            raise ObserverBug("span processor bug in on_start")

    def on_end(self, span: ReadableSpan) -> None:
        if self.where == "on_end":
            raise ObserverBug("span processor bug in on_end")


@pytest.mark.parametrize("where", ["on_start", "on_end"])
async def test_telemetry_with_a_broken_sdk_does_not_break_the_run_in_production(
        where: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("OTELAGENTS_STRICT_OBSERVERS", "0")
    baseline = await run_once(RunConfig())
    provider = TracerProvider()
    provider.add_span_processor(BrokenProcessor(where))
    engine = MetricsEngine()
    with caplog.at_level(logging.WARNING, logger="otelagents.observer"):
        seen = await run_once(RunConfig(observers=[Telemetry(provider, metrics=engine)]))
    assert (seen.events, seen.output) == (baseline.events, baseline.output)
    assert f"span processor bug in {where}" in caplog.text
    await assert_no_pending_tasks()


async def test_healthy_observer_control(monkeypatch: pytest.MonkeyPatch) -> None:
    """Control for the tests above: a ``Faulty`` observer that never raises changes nothing either way."""
    monkeypatch.setenv("OTELAGENTS_STRICT_OBSERVERS", "1")
    reference = make_rig()
    baseline = await run_once(RunConfig(observers=[reference.telemetry]))
    rig = make_rig()
    seen = await run_once(RunConfig(observers=[Faulty("nowhere"), rig.telemetry]))
    assert (seen.events, seen.output) == (baseline.events, "All done, thank you.")
    assert seen.traceparents == [True, True]
    assert healthy_view(rig) == healthy_view(reference)
    assert_every_span(rig, OK, None, operations=("invoke_workflow", "invoke_agent", "chat"))
