"""Security: credentials never leave through telemetry or logs; content stays in unless asked for; ``/metrics``
listens on loopback unless told otherwise.

The key checks run a failing run (a tool that raises, then an authentication error) over the real ``openai``
client against the local server, export spans and metrics over OTLP to the in-process receiver with content
capture on (the most that could leak), and capture every log record at DEBUG. ``test_telemetry_content``
covers content capture over OTLP bytes for a successful run; here it is the failure path, both APIs.
"""

from __future__ import annotations

import logging
import os
import secrets
import select
import socket
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path
from typing import Any

import openai
import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from otelagents import Agent, RunConfig, Runner, function_tool
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import MetricsEngine, MetricsServer, OTLPMetricsBridge
from otelagents.telemetry._observer import Telemetry
from otelagents.testing.otlp import OTLPReceiver
from otelagents.testing.server import Reply
from tests.reliability_helpers import (
    APIS,
    ServerHandle,
    assert_no_pending_tasks,
    consume,
    model_server,
    run_finished,
)
from tests.telemetry_helpers import make_rig

__all__ = ["model_server"]  # the fixture, imported for pytest

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parent.parent
CONTENT_ATTRIBUTES = (sc.GEN_AI_SYSTEM_INSTRUCTIONS, sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES,
                      sc.GEN_AI_TOOL_CALL_ARGUMENTS, sc.GEN_AI_TOOL_CALL_RESULT)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sc.ENV_CAPTURE_MESSAGE_CONTENT, raising=False)
    monkeypatch.delenv("OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA", raising=False)


def warehouse_tool(secret_in_error: str) -> Any:
    def stock(item: str) -> str:
        """Count an item in stock."""
        raise PermissionError(f"warehouse refused {item}: {secret_in_error}")

    return function_tool(stock)


@pytest.mark.parametrize("api", APIS)
async def test_api_key_is_never_exported_nor_logged(api: str, model_server: ServerHandle,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    key, env_key = f"sk-given-{secrets.token_hex(16)}", f"sk-environment-{secrets.token_hex(16)}"
    monkeypatch.setenv("OPENAI_API_KEY", env_key)
    caplog.set_level(logging.DEBUG)  # every logger: openai, httpx, otelagents, OpenTelemetry
    with OTLPReceiver() as receiver:
        provider = TracerProvider()
        exporter = OTLPSpanExporter(endpoint=f"{receiver.http_endpoint}/v1/traces")
        provider.add_span_processor(BatchSpanProcessor(exporter))
        engine = MetricsEngine()
        bridge = OTLPMetricsBridge(engine, OTLPMetricExporter(endpoint=receiver.grpc_endpoint, insecure=True))
        telemetry = Telemetry(provider, metrics=engine, capture_content=True)  # the most that could leak
        model_server.server.add(Reply.tool_calls([("stock", {"item": "bolts"})]),
                                Reply.status(401, message="Incorrect API key provided"))
        openai_rig = model_server.rig(api, api_key=key)
        agent = Agent("careful", instructions="Count things.", model="gpt-test", tools=[warehouse_tool("db down")])
        result = Runner.run_streamed(agent, "how many bolts?", run_config=RunConfig(
            model_provider=openai_rig.provider(), observers=[telemetry]))
        seen = await consume(result)
        await run_finished(result)
        assert isinstance(seen.error, openai.AuthenticationError)  # a run with a failure, over the wire
        assert [r.headers["authorization"] for r in model_server.server.requests] == [f"Bearer {key}"] * 2
        assert bridge.export_now(5.0)
        bridge.shutdown(5.0)
        provider.shutdown()
        spans = receiver.wait_for_spans(5)
        raw = receiver.raw_bytes()
    assert b"execute_tool stock" in raw and b"db down" in raw  # it all arrived, content and error messages too
    for secret in (key, env_key):
        assert secret.encode() not in raw, "an API key was exported"
        assert secret not in caplog.text, "an API key was logged"
        assert secret not in repr(seen.error) and secret not in str(seen.error.body)
    assert any(r.name.startswith("openai") and r.levelno == logging.DEBUG for r in caplog.records)  # logs were on
    assert not any("authorization" in k.lower() for s in spans for k in s.attributes)
    await assert_no_pending_tasks()


@pytest.mark.parametrize("api", APIS)
async def test_content_capture_is_off_by_default_on_the_failure_path(api: str, model_server: ServerHandle) -> None:
    markers = ("INSTRUCTIONS-marker", "PROMPT-marker", "ARGUMENT-marker", "ERROR-marker", "ANSWER-marker")
    assert RunConfig().trace_include_sensitive_data is False and Telemetry().capture_content is None
    rig = make_rig()  # Telemetry with every content setting left at its default
    model_server.server.add(Reply.tool_calls([("stock", {"item": markers[2]})]), Reply.text(markers[4]),
                            Reply.fault("failed", error_message="ERROR-marker from the model"))
    agent = Agent("careful", instructions=markers[0], model="gpt-test", tools=[warehouse_tool(markers[3])])
    openai_rig = model_server.rig(api)
    first = Runner.run_streamed(agent, markers[1], run_config=openai_rig.config(rig))
    assert (await consume(first)).error is None and first.final_output == markers[4]
    second = Runner.run_streamed(agent, markers[1], run_config=openai_rig.config(rig))
    assert (await consume(second)).error is not None  # a model failure whose message holds content
    await run_finished(second)
    spans = rig.spans()
    assert {s.name.split(" ")[0] for s in spans} == {"invoke_workflow", "invoke_agent", "chat", "execute_tool"}
    for span in spans:
        attributes = dict(span.attributes or {})
        assert not set(CONTENT_ATTRIBUTES) & set(attributes), span.name
        texts = [str(v) for v in attributes.values()] + [span.status.description or ""]
        texts += [str(v) for e in span.events for v in (e.attributes or {}).values()]
        assert not [m for m in markers if any(m in t for t in texts)], f"content on {span.name}: {texts}"
        for exception in span.events:
            assert set(exception.attributes or {}) == {sc.EXCEPTION_TYPE}  # no message, no stack trace
    await assert_no_pending_tasks()


# --- /metrics listens on loopback ------------------------------------------------------------------------

def listening_addresses(port: int) -> set[str]:
    """The local addresses with a TCP socket listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found: set[str] = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        if not os.path.exists(table):
            continue
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                address, hex_port = fields[1].split(":")
                if fields[3] != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                    continue
                raw = bytes.fromhex(address)
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # host-order 32-bit words
                found.add(socket.inet_ntop(family, words))
    return found


@pytest.fixture
def proc_net() -> None:
    if not os.path.exists("/proc/net/tcp"):
        pytest.skip("needs Linux's /proc/net/tcp to see which address a socket listens on")


def test_metrics_server_listens_on_loopback_by_default(proc_net: None) -> None:
    with MetricsServer(MetricsEngine(), port=0) as server:
        assert server.host == "127.0.0.1"
        assert listening_addresses(server.port) == {"127.0.0.1"}
        with urllib.request.urlopen(server.url, timeout=5) as response:
            assert response.status == 200
    assert listening_addresses(server.port) == set()


SETUP_SCRIPT = textwrap.dedent("""
    import sys
    from otelagents.telemetry import setup

    handle = setup(prometheus_port=0, instrument=False)
    print(handle.metrics_server.host, handle.metrics_server.port, flush=True)
    sys.stdin.readline()
    handle.shutdown(timeout_s=2)
""")


def test_setup_serves_metrics_on_loopback_by_default(proc_net: None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen([sys.executable, "-c", SETUP_SCRIPT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            cwd=ROOT, env=env, text=True)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "setup() did not report its /metrics address within 30 s"
        host, port = proc.stdout.readline().split()
        assert host == "127.0.0.1"
        assert listening_addresses(int(port)) == {"127.0.0.1"}
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
