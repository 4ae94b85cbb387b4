"""Telemetry over real OTLP (gRPC and HTTP) to the in-process receiver, and ``setup()`` / ``instrument()``.

``setup()`` installs a global tracer provider (once per process), so its tests run in a fresh Python
process each, against the receiver of this one.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GRPCMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GRPCSpanExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HTTPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HTTPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

import otelagents.telemetry
from otelagents import Agent, RunConfig, Runner, function_tool, get_run_observers
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import MetricsEngine, MetricsPortInUseError, OTLPMetricsBridge
from otelagents.telemetry._observer import Telemetry, installed, instrument, uninstrument
from otelagents.testing import ScriptedModel, handoff, tool_call
from otelagents.testing.otlp import OTLPReceiver
from tests.telemetry_helpers import drain, received_tree

ROOT = Path(__file__).resolve().parent.parent
OK, ERR = "UNSET", "ERROR"
TTFT_PROM = sc.METRICS_BY_NAME[sc.METRIC_TIME_TO_FIRST_TOKEN].prometheus_name


@function_tool
def lookup(key: str) -> str:
    """Look a key up."""
    return key.upper()


@function_tool
def flaky() -> str:
    """Always fails."""
    raise ConnectionError("backend unreachable")


def _agents() -> Agent[Any]:
    billing = Agent("billing", model=ScriptedModel(["Invoice paid."]))
    return Agent("triage", model=ScriptedModel([[tool_call("lookup", {"key": "inv-1"}), tool_call("flaky")],
                                                [handoff(billing)]]),
                 tools=[lookup, flaky], handoffs=[billing])


EXPECTED = [
    ("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
        ("invoke_agent triage", "INTERNAL", OK, None, [
            ("chat scripted-model", "CLIENT", OK, None, []),
            ("execute_tool lookup", "INTERNAL", OK, None, []),
            ("execute_tool flaky", "INTERNAL", ERR, "ConnectionError", []),
            ("chat scripted-model", "CLIENT", OK, None, []),
            ("execute_tool transfer_to_billing", "INTERNAL", OK, None, []),
        ]),
        ("invoke_agent billing", "INTERNAL", OK, None, [
            ("chat scripted-model", "CLIENT", OK, None, []),
        ]),
    ]),
]


@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_spans_and_metrics_over_otlp(otlp_receiver: OTLPReceiver, transport: str) -> None:
    if transport == "grpc":
        span_exporter: Any = GRPCSpanExporter(endpoint=otlp_receiver.grpc_endpoint, insecure=True)
        metric_exporter: Any = GRPCMetricExporter(endpoint=otlp_receiver.grpc_endpoint, insecure=True)
    else:
        span_exporter = HTTPSpanExporter(endpoint=f"{otlp_receiver.http_endpoint}/v1/traces")
        metric_exporter = HTTPMetricExporter(endpoint=f"{otlp_receiver.http_endpoint}/v1/metrics")
    provider = TracerProvider(resource=Resource.create({"service.name": "otlp-test"}))
    provider.add_span_processor(BatchSpanProcessor(span_exporter))
    engine = MetricsEngine()
    bridge = OTLPMetricsBridge(engine, metric_exporter, interval_s=60)
    result = Runner.run_streamed(_agents(), "pay my invoice", run_config=RunConfig(
        observers=[Telemetry(provider, metrics=engine)]))
    await drain(result)
    assert result.final_output == "Invoice paid."
    assert bridge.export_now(5.0)
    bridge.shutdown(5.0)
    provider.shutdown()  # flush before the receiver stops

    spans = otlp_receiver.wait_for_spans(9)
    assert received_tree(spans) == EXPECTED
    assert {s.transport for s in spans} == {transport}
    assert {s.scope_name for s in spans} == {"otelagents"}
    assert {s.resource.get("service.name") for s in spans} == {"otlp-test"}
    assert len({s.trace_id for s in spans}) == 1
    by_name = {s.name: s for s in spans}
    chats = sorted((s for s in spans if s.name.startswith("chat")), key=lambda s: s.start_time_unix_nano)
    assert chats[0].attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    assert chats[0].attributes[sc.GEN_AI_REQUEST_STREAM] is True
    assert isinstance(chats[0].attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS], int)
    assert chats[0].attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0
    hand = by_name["execute_tool transfer_to_billing"].attributes
    assert (hand[sc.GEN_AI_AGENT_HANDOFF_SOURCE_NAME], hand[sc.GEN_AI_AGENT_HANDOFF_TARGET_NAME]) == (
        "triage", "billing")
    flaky_span = by_name["execute_tool flaky"]
    assert flaky_span.attributes[sc.OTELAGENTS_ERROR_HANDLED] is True
    assert [e.attributes for e in flaky_span.events] == [{"exception.type": "ConnectionError"}]

    ttft = otlp_receiver.wait_for_metrics(sc.METRIC_TIME_TO_FIRST_TOKEN)[-1]
    assert ttft.transport == transport and ttft.kind == "histogram"
    assert sum(p.count or 0 for p in ttft.data_points) == 3
    exemplar_spans = {e.span_id for p in ttft.data_points for e in p.exemplars}
    assert exemplar_spans and exemplar_spans <= {c.span_id for c in chats}
    tool_errors = [p for m in otlp_receiver.wait_for_metrics(sc.METRIC_ERRORS) for p in m.data_points]
    assert {(p.attributes[sc.ERROR_TYPE], p.value) for p in tool_errors} == {("ConnectionError", 1)}


# --- setup() in a fresh process --------------------------------------------------------------------------

SCRIPT = textwrap.dedent("""
    import asyncio, json, sys, time, urllib.request
    from otelagents import Agent, Runner, function_tool
    from otelagents.testing import ScriptedModel, tool_call
    from otelagents.telemetry import setup

    options = json.loads(sys.argv[1])
    app_exporter = None
    if options.pop("app_provider", False):
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        app_exporter = InMemorySpanExporter()
        app_provider = TracerProvider()
        app_provider.add_span_processor(SimpleSpanProcessor(app_exporter))
        trace.set_tracer_provider(app_provider)
    shutdown_timeout = options.pop("shutdown_timeout", None)
    handle = setup(**options)
    again = setup(**options)

    @function_tool
    def lookup(key: str) -> str:
        "Look a key up."
        return key.upper()

    model = ScriptedModel([[tool_call("lookup", {"key": "k"})], "all done"], delta_delay=0.001)
    result = asyncio.run(Runner.run(Agent("setup-agent", model=model, tools=[lookup]), "go"))
    report = {"final": result.final_output, "same_handle": again is handle, "enabled": handle.enabled,
              "owns_provider": handle.owns_tracer_provider}
    if handle.metrics_server is not None:
        report["metrics_url"] = handle.metrics_server.url
        report["metrics_body"] = urllib.request.urlopen(handle.metrics_server.url, timeout=5).read().decode()
    if app_exporter is not None:
        report["app_spans"] = sorted(s.name for s in app_exporter.get_finished_spans())
    if shutdown_timeout is not None:
        started = time.monotonic()
        handle.shutdown(timeout_s=shutdown_timeout)
        report["shutdown_s"] = time.monotonic() - started
    print(json.dumps(report))
    # no shutdown otherwise: the atexit hook must flush spans and metrics
""")


def run_script(options: dict[str, Any], env: dict[str, str] | None = None, timeout_s: float = 60) -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    clean["PYTHONPATH"] = str(ROOT)
    clean.update(env or {})
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(options)], env=clean, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout_s, check=False)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["stderr"] = done.stderr
    return report


SETUP_TREE = [
    ("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
        ("invoke_agent setup-agent", "INTERNAL", OK, None, [
            ("chat scripted-model", "CLIENT", OK, None, []),
            ("execute_tool lookup", "INTERNAL", OK, None, []),
            ("chat scripted-model", "CLIENT", OK, None, []),
        ]),
    ]),
]


def test_setup_exports_over_otlp_grpc_and_serves_metrics(otlp_receiver: OTLPReceiver) -> None:
    report = run_script({"service_name": "setup-grpc", "otlp_endpoint": otlp_receiver.grpc_endpoint,
                         "prometheus_port": 0})
    assert report["final"] == "all done" and report["same_handle"] and report["owns_provider"]
    assert report["metrics_url"].startswith("http://127.0.0.1:")
    assert f"{TTFT_PROM}_bucket" in report["metrics_body"]
    spans = otlp_receiver.wait_for_spans(5)
    assert received_tree(spans) == SETUP_TREE
    assert {s.transport for s in spans} == {"grpc"}
    assert {s.resource["service.name"] for s in spans} == {"setup-grpc"}
    ttft = otlp_receiver.wait_for_metrics(sc.METRIC_TIME_TO_FIRST_TOKEN)
    assert ttft[-1].transport == "grpc" and ttft[-1].resource["service.name"] == "setup-grpc"
    assert sum(p.count or 0 for p in ttft[-1].data_points) == 2


def test_setup_reads_the_otlp_environment_for_http(otlp_receiver: OTLPReceiver) -> None:
    report = run_script({"prometheus": False}, env={
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.http_endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_SERVICE_NAME": "setup-http",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test",
    })
    assert "metrics_url" not in report
    spans = otlp_receiver.wait_for_spans(5)
    assert received_tree(spans) == SETUP_TREE
    assert {s.transport for s in spans} == {"http"}
    assert {(s.resource["service.name"], s.resource["deployment.environment"]) for s in spans} == {
        ("setup-http", "test")}
    assert otlp_receiver.wait_for_metrics(sc.METRIC_OPERATION_DURATION)[-1].transport == "http"


def test_setup_keeps_an_application_tracer_provider(otlp_receiver: OTLPReceiver) -> None:
    report = run_script({"app_provider": True, "prometheus": False, "otlp_endpoint": otlp_receiver.grpc_endpoint})
    assert report["owns_provider"] is False
    assert report["app_spans"] == sorted(["invoke_workflow Agent workflow", "invoke_agent setup-agent",
                                          "chat scripted-model", "chat scripted-model", "execute_tool lookup"])
    assert otlp_receiver.wait_for_metrics(sc.METRIC_TIME_TO_FIRST_TOKEN)  # metrics still go over OTLP
    assert otlp_receiver.spans() == []  # the application's provider decides where spans go


def test_setup_shutdown_is_bounded_with_a_hanging_collector() -> None:
    with OTLPReceiver(hang_limit_s=20) as receiver:
        receiver.behaviour = "hang"
        started = time.monotonic()
        report = run_script({"otlp_endpoint": receiver.grpc_endpoint, "prometheus": False,
                             "shutdown_timeout": 1.0}, timeout_s=30)
        elapsed = time.monotonic() - started
    assert report["shutdown_s"] < 2.5, report
    assert elapsed < 15, f"the process took {elapsed:.1f} s to exit"


def test_setup_names_a_taken_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MetricsPortInUseError) as caught:
            otelagents.telemetry.setup(prometheus_port=port)
    assert str(port) in str(caught.value) and "OTEL_EXPORTER_PROMETHEUS_PORT" in str(caught.value)
    assert installed() is None  # nothing was registered


def test_setup_with_the_sdk_disabled_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    handle = otelagents.telemetry.setup(prometheus_port=0)
    assert not handle.enabled
    assert (handle.telemetry, handle.tracer_provider, handle.engine, handle.metrics_server) == (None,) * 4
    assert installed() is None
    assert handle.force_flush() is True
    handle.shutdown()
    handle.shutdown()


def test_setup_rejects_an_unknown_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(ValueError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
        otelagents.telemetry.setup(prometheus=False)


# --- instrument() and the package surface ------------------------------------------------------------------

def test_instrument_registers_once_and_uninstrument_removes() -> None:
    engine = MetricsEngine()
    try:
        first = instrument(metrics=engine)
        assert instrument() is first and installed() is first
        assert get_run_observers().count(first) == 1
        Runner.run_sync(Agent("global", model=ScriptedModel(["hi"])), "go")
        assert any(s.points for s in engine.collect() if s.name == sc.METRIC_INVOKE_WORKFLOW_DURATION)
    finally:
        uninstrument()
    assert installed() is None and first not in get_run_observers()
    uninstrument()  # idempotent


def test_public_api_is_lazy_and_exact() -> None:
    assert sorted(otelagents.telemetry.__all__) == [
        "MetricsEngine", "OTelAPISink", "Telemetry", "TelemetryHandle", "active_telemetry", "disable", "instrument",
        "setup", "uninstrument"]
    code = "import sys, otelagents.telemetry; print(any(m.startswith('opentelemetry') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert done.stdout.strip() == "False", done.stderr
