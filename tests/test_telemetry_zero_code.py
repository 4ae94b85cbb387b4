"""Zero-code: ``opentelemetry-instrument python app.py`` on an unmodified script exports otelagents' telemetry.

The real ``opentelemetry-instrument`` (opentelemetry-distro, in the test extra) configures the SDK from
``OTEL_*`` variables and applies the ``opentelemetry_instrumentor`` entry points, ours included; spans and
metrics go over OTLP/gRPC to the in-process receiver. The instrumentor itself is also checked in process.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from otelagents.telemetry import semconv as sc
from otelagents.testing.otlp import OTLPReceiver
from otelagents.testing.server import OpenAICompatServer, Reply

ROOT = pathlib.Path(__file__).resolve().parent.parent
APP = ROOT / "tests" / "zero_code_app.py"
SPANS = ["chat", "chat", "execute_tool lookup", "invoke_agent triage", "invoke_workflow Agent workflow"]


def opentelemetry_instrument() -> str:
    path = pathlib.Path(sys.executable).parent / "opentelemetry-instrument"
    if path.exists():
        return str(path)
    message = "opentelemetry-instrument not installed: pip install -e '.[test]' (opentelemetry-distro)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI=true requires it")
    pytest.skip(message)
    raise AssertionError("unreachable")


def run_instrumented(receiver: OTLPReceiver, **env: str) -> subprocess.CompletedProcess[str]:
    command = opentelemetry_instrument()
    with OpenAICompatServer() as server:
        server.add(Reply.tool_calls([("lookup", {"key": "k"})]), Reply.text("Found it, thanks", chunks=4))
        clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_") and k != "PYTEST_CURRENT_TEST"}
        done = subprocess.run(
            [command, sys.executable, str(APP)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
            env={**clean, "PYTHONPATH": str(ROOT), "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "test",
                 "OTEL_SERVICE_NAME": "zero-code", "OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp",
                 "OTEL_LOGS_EXPORTER": "none", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                 "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{receiver.grpc_endpoint}",
                 "OTEL_EXPORTER_OTLP_INSECURE": "true",
                 "OTEL_METRIC_EXPORT_INTERVAL": "60000", **env})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Found it, thanks"
    return done


def test_opentelemetry_instrument_on_an_unmodified_script_exports_spans_and_metrics(
        otlp_receiver: OTLPReceiver) -> None:
    run_instrumented(otlp_receiver)
    spans = otlp_receiver.wait_for_spans(len(SPANS))
    assert sorted("chat" if s.name.startswith("chat ") else s.name for s in spans) == SPANS
    assert {s.resource.get("service.name") for s in spans} == {"zero-code"}
    assert len({s.trace_id for s in spans}) == 1
    # The SDK's reader exports at shutdown: the engine's aggregates arrive with the provider's resource.
    (workflow,) = otlp_receiver.wait_for_metrics(sc.METRIC_INVOKE_WORKFLOW_DURATION)
    assert workflow.kind == "histogram" and sum(p.count or 0 for p in workflow.data_points) == 1
    assert workflow.resource.get("service.name") == "zero-code"
    chunks = otlp_receiver.wait_for_metrics(sc.METRIC_TIME_PER_OUTPUT_CHUNK)
    assert sum(p.count or 0 for m in chunks for p in m.data_points) >= 3
    assert list(chunks[0].data_points[0].explicit_bounds) == [
        float(b) for b in sc.METRICS_BY_NAME[sc.METRIC_TIME_PER_OUTPUT_CHUNK].buckets]


def test_listing_otelagents_in_disabled_instrumentations_exports_nothing_of_ours(
        otlp_receiver: OTLPReceiver) -> None:
    run_instrumented(otlp_receiver, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="otelagents")
    # The process has exited: everything it exported has arrived (the test above gets spans the same way).
    assert [s for s in otlp_receiver.spans() if s.scope_name == "otelagents"] == []
    # (the Agents SDK instrumentor, still enabled, reports otelagents.info; no run was observed)
    assert [m.name for m in otlp_receiver.metrics() if m.name.startswith(("gen_ai.", "otelagents."))
            and m.name != sc.METRIC_INFO] == []


def test_instrumentor_takes_providers_and_uninstrument_turns_telemetry_off() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from otelagents import Agent, Runner
    from otelagents._observing import telemetry_observer
    from otelagents.instrumentation import OtelAgentsInstrumentor
    from otelagents.telemetry import Telemetry
    from otelagents.testing import ScriptedModel

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OtelAgentsInstrumentor()
    with pytest.raises(TypeError, match="unknown settings"):
        instrumentor.instrument(tracer_provider=provider, colour="blue")
    instrumentor.instrument(tracer_provider=provider, stall_threshold_s=2.0)
    try:
        registered = telemetry_observer()
        assert isinstance(registered, Telemetry) and registered.stall_threshold_s == 2.0
        Runner.run_sync(Agent("zero", model=ScriptedModel(["hi"])), "go")
        assert len(exporter.get_finished_spans()) == 3
    finally:
        instrumentor.uninstrument()
    assert telemetry_observer() is None
    Runner.run_sync(Agent("zero", model=ScriptedModel(["hi"])), "go")
    assert len(exporter.get_finished_spans()) == 3
