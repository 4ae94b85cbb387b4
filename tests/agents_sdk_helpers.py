"""Helpers for the Agents SDK plugin tests: the real ``openai-agents`` SDK over real HTTP against the
project's OpenAI-compatible test server, instrumented by ``OpenAIAgentsInstrumentor`` into a ``Rig``
(an in-memory span exporter and the metrics engine), with a user's own SDK trace processor kept in place
to prove the SDK's own tracing is left as configured."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from agents import (
    Model,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    RunResultStreaming,
    TracingProcessor,
    set_trace_processors,
)
from openai import AsyncOpenAI

from otelagents.instrumentation import OpenAIAgentsInstrumentor
from otelagents.testing.server import OpenAICompatServer
from tests.telemetry_helpers import Rig, make_rig

APIS = ["responses", "chat_completions"]


class RecordingProcessor(TracingProcessor):
    """A user's own SDK trace processor: records the SDK's span types, to show they still flow."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.ended: list[str] = []
        self.traces = 0

    def on_trace_start(self, trace: Any) -> None:
        self.traces += 1

    def on_trace_end(self, trace: Any) -> None:
        return None

    def on_span_start(self, span: Any) -> None:
        self.started.append(span.span_data.type)

    def on_span_end(self, span: Any) -> None:
        self.ended.append(span.span_data.type)

    def shutdown(self) -> None:
        return None

    def force_flush(self) -> None:
        return None


class SDKRig:
    """The server, a client on it, the telemetry rig and the user's own SDK processor."""

    def __init__(self, server: OpenAICompatServer, rig: Rig, user_processor: RecordingProcessor,
                 instrumentor: OpenAIAgentsInstrumentor) -> None:
        self.server = server
        self.rig = rig
        self.user_processor = user_processor
        self.instrumentor = instrumentor
        self.client = AsyncOpenAI(base_url=server.base_url, api_key="test-key", max_retries=2)

    def model(self, api: str, name: str = "gpt-4.1") -> Model:
        if api == "responses":
            return OpenAIResponsesModel(model=name, openai_client=self.client)
        return OpenAIChatCompletionsModel(model=name, openai_client=self.client)


class ProcessorErrors(logging.Handler):
    """The SDK logs (and swallows) what its trace processors raise; under tests ours raise on any bug."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "trace processor" in record.getMessage():
            self.records.append(record)


@pytest.fixture
def sdk(request: pytest.FixtureRequest) -> Iterator[SDKRig]:
    rig = make_rig(**getattr(request, "param", {}))
    user = RecordingProcessor()
    set_trace_processors([user])  # no export to OpenAI's backend from tests
    instrumentor = OpenAIAgentsInstrumentor()
    instrumentor.instrument(telemetry=rig.telemetry)
    errors = ProcessorErrors()
    sdk_logger = logging.getLogger("openai.agents")
    sdk_logger.addHandler(errors)
    try:
        with OpenAICompatServer() as server:
            yield SDKRig(server, rig, user, instrumentor)
    finally:
        sdk_logger.removeHandler(errors)
        instrumentor.uninstrument()
        set_trace_processors([])
    failures = [f"{r.getMessage()}: {r.exc_info[1]!r}" if r.exc_info else r.getMessage() for r in errors.records]
    assert failures == [], f"the plugin's trace processor raised: {failures}"


async def drain(result: RunResultStreaming, timeout_s: float = 15.0) -> list[Any]:
    async def collect() -> list[Any]:
        return [event async for event in result.stream_events()]

    return await asyncio.wait_for(collect(), timeout_s)


async def wait_run_done(result: RunResultStreaming, timeout_s: float = 15.0) -> None:
    """Until the SDK's background run task is done (and our done callback has run)."""
    task = result.run_loop_task
    assert task is not None
    await asyncio.wait_for(asyncio.wait([task]), timeout_s)
    await asyncio.sleep(0)  # let the task's done callbacks run


def assert_all_closed(rig: Rig) -> None:
    assert rig.tracker.open == {}, f"spans left open: {sorted(rig.tracker.open.values())}"
    assert rig.tracker.ended_twice == []
