"""Content capture: off by default and never in any exported byte; on when asked; cut to size; API keys never.

The byte-level tests run the real OpenAI Responses adapter against the local OpenAI-compatible server (with a
fake API key in the client and the environment) and export spans and metrics over OTLP to the receiver.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import openai
import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from otelagents import Agent, RunConfig, function_tool
from otelagents.models.openai_responses import OpenAIResponsesModel
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._content import capture_from_env, json_within
from otelagents.telemetry._metrics import MetricsEngine, OTLPMetricsBridge
from otelagents.telemetry._observer import Telemetry
from otelagents.testing import ScriptedModel, tool_call
from otelagents.testing.otlp import OTLPReceiver
from otelagents.testing.server import OpenAICompatServer, Reply
from tests.telemetry_helpers import make_rig, run_to_end

SYSTEM = "SYSTEM-SECRET-instructions"
PROMPT = "PROMPT-SECRET-question"
ARGUMENT = "ARGUMENT-SECRET-value"
RESULT = "RESULT-SECRET-value"
COMPLETION = "COMPLETION-SECRET answer"
ERROR_MESSAGE = "ERROR-SECRET-message"
API_KEY = "sk-FAKEKEY-0123456789abcdef"
ENV_API_KEY = "sk-FAKEENVKEY-fedcba9876543210"
CONTENT = (SYSTEM, PROMPT, ARGUMENT, RESULT, COMPLETION, ERROR_MESSAGE)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sc.ENV_CAPTURE_MESSAGE_CONTENT, raising=False)
    monkeypatch.delenv("OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", ENV_API_KEY)


@function_tool
def lookup(key: str) -> str:
    """Look a key up."""
    return f"{RESULT}:{key}"


@function_tool
def broken() -> str:
    """Always fails."""
    raise ValueError(ERROR_MESSAGE)


async def _exported_bytes(receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch, mode: str) -> bytes:
    """Run one agent over the real adapter with capture set by ``mode``; return every byte exported."""
    capture_content: bool | None = None
    include_sensitive = False
    if mode == "env":
        monkeypatch.setenv(sc.ENV_CAPTURE_MESSAGE_CONTENT, "span_only")
    elif mode == "run_config":
        include_sensitive = True
    elif mode == "argument":
        capture_content = True
    elif mode == "forced_off":
        monkeypatch.setenv(sc.ENV_CAPTURE_MESSAGE_CONTENT, "SPAN_AND_EVENT")
        include_sensitive = True
        capture_content = False
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{receiver.http_endpoint}/v1/traces")))
    engine = MetricsEngine()
    bridge = OTLPMetricsBridge(engine, OTLPMetricExporter(endpoint=receiver.grpc_endpoint, insecure=True))
    telemetry = Telemetry(provider, metrics=engine, capture_content=capture_content)
    replies = [Reply.tool_calls([("lookup", {"key": ARGUMENT}), ("broken", {})]), Reply.text(COMPLETION)]
    with OpenAICompatServer(replies) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
        agent = Agent("secretive", instructions=SYSTEM, model=OpenAIResponsesModel("gpt-test", client),
                      tools=[lookup, broken])
        result = await run_to_end(agent, PROMPT, RunConfig(observers=[telemetry],
                                                           trace_include_sensitive_data=include_sensitive))
        requests = server.requests
        await client.close()
    assert result.final_output == COMPLETION
    assert requests[0].headers["authorization"] == f"Bearer {API_KEY}"  # the key really was in use
    assert bridge.export_now(5.0)
    bridge.shutdown(5.0)
    provider.shutdown()
    spans = receiver.wait_for_spans(6)
    chats = sorted((s for s in spans if s.name == "chat gpt-test"), key=lambda s: s.start_time_unix_nano)
    assert [r.headers["traceparent"].split("-")[1:3] for r in requests] == [[c.trace_id, c.span_id] for c in chats]
    chat = chats[0].attributes
    assert (chat[sc.GEN_AI_PROVIDER_NAME], chat[sc.OPENAI_API_TYPE], chat[sc.SERVER_ADDRESS]) == (
        "openai", "responses", "127.0.0.1")
    assert chat[sc.SERVER_PORT] == int(server.base_url.split(":")[2].split("/")[0])
    raw = receiver.raw_bytes()
    assert b"execute_tool lookup" in raw and sc.METRIC_TIME_TO_FIRST_TOKEN.encode() in raw  # it all arrived
    return raw


@pytest.mark.parametrize("mode", ["default", "forced_off"])
async def test_no_content_in_any_exported_byte_when_capture_is_off(
        otlp_receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    raw = await _exported_bytes(otlp_receiver, monkeypatch, mode)
    leaked = [s for s in (*CONTENT, API_KEY, ENV_API_KEY) if s.encode() in raw]
    assert leaked == []


@pytest.mark.parametrize("mode", ["env", "run_config", "argument"])
async def test_content_is_exported_when_capture_is_on(
        otlp_receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    raw = await _exported_bytes(otlp_receiver, monkeypatch, mode)
    assert [s for s in CONTENT if s.encode() not in raw] == []
    assert API_KEY.encode() not in raw and ENV_API_KEY.encode() not in raw


@pytest.mark.parametrize(("value", "expected"), [
    ("true", True), ("SPAN_ONLY", True), ("span_and_event", True), ("Span_Only", True),
    ("false", False), ("NO_CONTENT", False), ("EVENT_ONLY", False), ("", False),
])
def test_capture_switch_values(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv(sc.ENV_CAPTURE_MESSAGE_CONTENT, value)
    assert capture_from_env() is expected


def test_an_invalid_capture_value_warns_and_captures_nothing(monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(sc.ENV_CAPTURE_MESSAGE_CONTENT, "everything-please")
    with caplog.at_level(logging.WARNING, logger="otelagents.telemetry"):
        assert capture_from_env() is False
    assert any("everything-please" in r.getMessage() and "NOT captured" in r.getMessage() for r in caplog.records)


async def test_message_shapes_on_spans() -> None:
    rig = make_rig(capture_content=True)
    model = ScriptedModel([[tool_call("lookup", {"key": "k1"}, call_id="call_1")], "The answer."])
    await run_to_end(Agent("shapes", instructions=SYSTEM, model=model, tools=[lookup]), PROMPT, rig.config())
    first, second = sorted((s for s in rig.spans() if s.name.startswith("chat")), key=lambda s: s.start_time or 0)
    a1, a2 = first.attributes or {}, second.attributes or {}
    assert json.loads(str(a1[sc.GEN_AI_SYSTEM_INSTRUCTIONS])) == [{"type": "text", "content": SYSTEM}]
    assert json.loads(str(a1[sc.GEN_AI_INPUT_MESSAGES])) == [
        {"role": "user", "parts": [{"type": "text", "content": PROMPT}]}]
    tool_part = {"type": "tool_call", "id": "call_1", "name": "lookup", "arguments": {"key": "k1"}}
    assert json.loads(str(a1[sc.GEN_AI_OUTPUT_MESSAGES])) == [
        {"role": "assistant", "parts": [tool_part], "finish_reason": "tool_calls"}]
    assert json.loads(str(a2[sc.GEN_AI_INPUT_MESSAGES])) == [
        {"role": "user", "parts": [{"type": "text", "content": PROMPT}]},
        {"role": "assistant", "parts": [tool_part]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": f"{RESULT}:k1"}]},
    ]
    assert json.loads(str(a2[sc.GEN_AI_OUTPUT_MESSAGES])) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "The answer."}], "finish_reason": "stop"}]
    tool = rig.span("execute_tool lookup").attributes or {}
    assert json.loads(str(tool[sc.GEN_AI_TOOL_CALL_ARGUMENTS])) == {"key": "k1"}
    assert tool[sc.GEN_AI_TOOL_CALL_RESULT] == f"{RESULT}:k1"


async def test_error_messages_follow_the_switch() -> None:
    for capture in (False, True):
        rig = make_rig(capture_content=capture)
        model = ScriptedModel([[tool_call("broken")], "sorry"])
        await run_to_end(Agent("e", model=model, tools=[broken]), "go", rig.config())
        span = rig.span("execute_tool broken")
        event = dict(span.events[0].attributes or {})
        assert event["exception.type"] == "ValueError"
        assert ("exception.message" in event) is capture
        assert (ERROR_MESSAGE in (span.status.description or "")) is capture


async def test_content_is_cut_to_the_limit() -> None:
    @function_tool
    def huge() -> str:
        """Returns a lot."""
        return "x" * 20_000

    rig = make_rig(capture_content=True, content_max_length=1000)
    model = ScriptedModel([[tool_call("huge")], "done"])
    long_prompt = "p" * 5000
    await run_to_end(Agent("big", instructions="s" * 3000, model=model, tools=[huge]), long_prompt, rig.config())
    result = str((rig.span("execute_tool huge").attributes or {})[sc.GEN_AI_TOOL_CALL_RESULT])
    assert len(result) == 1000 and result.endswith("…[truncated]") and result.startswith("xxxx")
    for chat in (s for s in rig.spans() if s.name.startswith("chat")):
        attrs = chat.attributes or {}
        for key in (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS):
            value = str(attrs[key])
            assert len(value) <= 1000
            json.loads(value)  # still valid JSON: the strings inside were shortened
        messages = json.loads(str(attrs[sc.GEN_AI_INPUT_MESSAGES]))
        assert messages[0]["role"] == "user" and messages[0]["parts"][0]["content"].startswith("ppp")


@pytest.mark.parametrize("limit", [40, 100, 300, 5000])
def test_json_within_keeps_json_valid_and_short(limit: int) -> None:
    value: list[dict[str, Any]] = [{"role": "user", "parts": [{"type": "text", "content": "é" * 700}]},
                                   {"role": "tool", "parts": [{"type": "text", "content": "b" * 90}] * 3}]
    text = json_within(value, limit)
    assert len(text) <= limit
    if limit >= 300:
        shortened = json.loads(text)
        assert shortened[0]["parts"][0]["content"].startswith("é")
    else:  # the structure alone does not fit: cut flat
        assert text.endswith("…[truncated]")
    assert json_within({"a": "short"}, limit) == '{"a":"short"}'
