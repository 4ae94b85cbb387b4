"""Zero-code for the Agents SDK: ``opentelemetry-instrument python app.py`` on an unmodified SDK application
applies the ``otelagents_agents_sdk`` entry point and exports the runner's spans and metrics over OTLP."""

from __future__ import annotations

import os
import subprocess
import sys

from otelagents.telemetry import semconv as sc
from otelagents.testing.otlp import OTLPReceiver
from otelagents.testing.server import OpenAICompatServer, Reply
from tests.test_telemetry_zero_code import ROOT, opentelemetry_instrument

APP = ROOT / "tests" / "zero_code_sdk_app.py"
SPANS = ["chat gpt-4.1", "chat gpt-4.1", "execute_tool lookup", "invoke_agent triage", "invoke_workflow Agent workflow"]


def run_app(receiver: OTLPReceiver, **env: str) -> None:
    command = opentelemetry_instrument()
    with OpenAICompatServer() as server:
        server.add(Reply.tool_calls([("lookup", {"key": "k"})]), Reply.text("Found it, thanks", chunks=4))
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))
                 and k != "PYTEST_CURRENT_TEST"}
        done = subprocess.run(
            [command, sys.executable, str(APP)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
            env={**clean, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "test",
                 "OTEL_SERVICE_NAME": "sdk-zero-code", "OTEL_TRACES_EXPORTER": "otlp",
                 "OTEL_METRICS_EXPORTER": "otlp", "OTEL_LOGS_EXPORTER": "none", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                 "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{receiver.grpc_endpoint}",
                 "OTEL_EXPORTER_OTLP_INSECURE": "true", "OTEL_METRIC_EXPORT_INTERVAL": "60000", **env})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Found it, thanks"
    assert "Traceback" not in done.stderr, done.stderr


def test_opentelemetry_instrument_on_an_unmodified_sdk_app(otlp_receiver: OTLPReceiver) -> None:
    run_app(otlp_receiver)
    spans = [s for s in otlp_receiver.wait_for_spans(len(SPANS)) if s.scope_name == "otelagents"]
    assert sorted(s.name for s in spans) == SPANS
    assert {s.resource.get("service.name") for s in spans} == {"sdk-zero-code"}
    assert len({s.trace_id for s in spans}) == 1
    chunks = otlp_receiver.wait_for_metrics(sc.METRIC_TIME_PER_OUTPUT_CHUNK)
    assert sum(p.count or 0 for m in chunks for p in m.data_points) >= 3
    (workflow,) = otlp_receiver.wait_for_metrics(sc.METRIC_INVOKE_WORKFLOW_DURATION)
    assert sum(p.count or 0 for p in workflow.data_points) == 1


def test_disabling_the_sdk_plugin_by_name(otlp_receiver: OTLPReceiver) -> None:
    run_app(otlp_receiver, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="otelagents_agents_sdk")
    assert [s for s in otlp_receiver.spans() if s.scope_name == "otelagents"] == []
