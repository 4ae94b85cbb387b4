"""The Agents SDK plugin's lifecycle duties: every span ends exactly once on cancel(), task cancellation
and a consumer that stops reading (the SDK keeps that run going: we record that the consumer left and end
our spans when the run really ends); a failing hook never breaks the run; uninstrument lets go; the SDK's
own trace processors keep receiving everything; a missing SDK or an unknown version is handled."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import pytest
from agents import Agent, Runner, function_tool

from otelagents.instrumentation import OpenAIAgentsInstrumentor
from otelagents.instrumentation.agents_sdk import _instrumentor
from otelagents.telemetry import semconv as sc
from otelagents.testing.server import Reply
from tests.agents_sdk_helpers import SDKRig, assert_all_closed, drain, sdk, wait_run_done
from tests.telemetry_helpers import counter_value, hist, tree

__all__ = ["sdk"]

OK, ERR = "UNSET", "ERROR"


@function_tool
async def slow_lookup(city: str) -> str:
    """Takes its time."""
    await asyncio.sleep(2.0)
    return city


async def test_consumer_break_records_that_the_consumer_left_and_ends_spans_with_the_run(sdk: SDKRig) -> None:
    sdk.server.add(Reply.long(40, gap=0.01))
    agent = Agent(name="Talker", model=sdk.model("responses"))
    result = Runner.run_streamed(agent, "talk")
    async for _ in result.stream_events():
        break
    assert not result.is_complete
    await wait_run_done(result)
    rig = sdk.rig
    assert tree(rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
        ("invoke_agent Talker", "INTERNAL", OK, None, [("chat gpt-4.1", "CLIENT", OK, None, [])])])]
    assert (rig.span("invoke_workflow Agent workflow").attributes or {})[sc.OTELAGENTS_CONSUMER_LEFT] is True
    assert (rig.span("chat gpt-4.1").attributes or {})[sc.OTELAGENTS_OUTPUT_CHUNKS] == 40  # the SDK read it all
    assert hist(rig.engine, sc.METRIC_TIME_PER_OUTPUT_CHUNK).count == 39
    assert_all_closed(rig)


async def test_a_consumer_that_reads_to_the_end_did_not_leave(sdk: SDKRig) -> None:
    sdk.server.add(Reply.text("all of it"))
    result = Runner.run_streamed(Agent(name="Reader", model=sdk.model("responses")), "read")
    await drain(result)
    await wait_run_done(result)
    assert sc.OTELAGENTS_CONSUMER_LEFT not in (sdk.rig.span("invoke_workflow Agent workflow").attributes or {})


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
async def test_cancel_during_the_stream_ends_every_span_cancelled(sdk: SDKRig, api: str) -> None:
    sdk.server.add(Reply.long(200, gap=0.02))
    result = Runner.run_streamed(Agent(name="Cut", model=sdk.model(api)), "go")
    seen = 0
    async for event in result.stream_events():
        seen += event.type == "raw_response_event"
        if seen == 5:
            result.cancel()
    await wait_run_done(result)
    rig = sdk.rig
    cancelled = ("cancelled")
    assert tree(rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", ERR, cancelled, [
        ("invoke_agent Cut", "INTERNAL", ERR, cancelled, [("chat gpt-4.1", "CLIENT", ERR, cancelled, [])])])]
    assert (rig.span("chat gpt-4.1").attributes or {})[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("error",)
    assert counter_value(rig.engine, sc.METRIC_ERRORS, {sc.ERROR_TYPE: "cancelled",
                                                        sc.GEN_AI_OPERATION_NAME: "invoke_workflow"}) == 1
    assert_all_closed(rig)


async def test_cancel_during_a_tool(sdk: SDKRig) -> None:
    sdk.server.add(Reply.tool_calls([("slow_lookup", {"city": "Rome"})]), Reply.text("never"))
    result = Runner.run_streamed(Agent(name="Waiter", model=sdk.model("responses"), tools=[slow_lookup]), "go")

    async def cancel_soon() -> None:
        await asyncio.sleep(0.5)
        result.cancel()

    canceller = asyncio.create_task(cancel_soon())
    await drain(result)
    await canceller
    await wait_run_done(result)
    [root] = tree(sdk.rig.spans())
    assert root[2:4] == (ERR, "cancelled")
    tool = sdk.rig.span("execute_tool slow_lookup")
    assert (tool.attributes or {})[sc.ERROR_TYPE] == "cancelled"
    assert_all_closed(sdk.rig)


async def test_cancel_after_turn_finishes_the_turn(sdk: SDKRig) -> None:
    sdk.server.add(Reply.text("a b c d e f", gap=0.05), Reply.text("never asked"))
    result = Runner.run_streamed(Agent(name="Soft", model=sdk.model("responses")), "go")
    async for _ in result.stream_events():
        result.cancel(mode="after_turn")
    await wait_run_done(result)
    spans = sdk.rig.spans()
    assert [s.name for s in spans if s.name.startswith("chat")] == ["chat gpt-4.1"]
    assert all(s.status.status_code.name == OK for s in spans)
    assert_all_closed(sdk.rig)


async def test_task_cancellation_of_a_non_streamed_run(sdk: SDKRig) -> None:
    sdk.server.add(Reply.text("late", ttft=5.0))  # a non-streaming answer arrives after ttft
    task = asyncio.create_task(Runner.run(Agent(name="Gone", model=sdk.model("responses")), "go"))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [root] = tree(sdk.rig.spans())
    assert root[:4] == ("invoke_workflow Agent workflow", "INTERNAL", ERR, "cancelled")
    assert_all_closed(sdk.rig)


async def test_task_cancellation_of_a_streamed_consumer(sdk: SDKRig) -> None:
    sdk.server.add(Reply.long(300, gap=0.02))
    result = Runner.run_streamed(Agent(name="Dropped", model=sdk.model("responses")), "go")
    consumer = asyncio.create_task(drain(result))
    await asyncio.sleep(0.5)
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    result.cancel()
    await wait_run_done(result)
    assert tree(sdk.rig.spans())[0][2:4] == (ERR, "cancelled")
    assert_all_closed(sdk.rig)


async def test_a_failing_hook_is_logged_and_the_run_goes_on(sdk: SDKRig, monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    from otelagents.telemetry import _observer

    def broken(self: Any, outcome: Any) -> None:
        raise RuntimeError("telemetry bug")

    monkeypatch.setattr(_observer.AgentTelemetry, "ended", broken)
    monkeypatch.setenv("OTELAGENTS_STRICT_OBSERVERS", "0")  # production behaviour
    sdk.server.add(Reply.text("still fine"))
    with caplog.at_level(logging.WARNING, logger="otelagents.observer"):
        result = await Runner.run(Agent(name="Sturdy", model=sdk.model("responses")), "hi")
    assert result.final_output == "still fine"
    assert any("telemetry bug" in repr(r.exc_info) or "telemetry bug" in r.getMessage() for r in caplog.records)


async def test_the_sdk_keeps_its_own_processors(sdk: SDKRig) -> None:
    sdk.server.add(Reply.text("hello"))
    await Runner.run(Agent(name="Both", model=sdk.model("responses")), "hi")
    user = sdk.user_processor
    assert user.traces == 1
    assert {"agent", "response"} <= set(user.ended)
    assert sorted(user.started) == sorted(user.ended)


async def test_uninstrument_stops_observing_and_instrument_resumes(sdk: SDKRig) -> None:
    sdk.server.add(Reply.text("one"), Reply.text("two"))
    agent = Agent(name="Toggle", model=sdk.model("responses"))
    sdk.instrumentor.uninstrument()
    await Runner.run(agent, "hi")
    assert sdk.rig.spans() == []
    assert sdk.user_processor.traces == 1  # the SDK's own tracing is untouched
    sdk.instrumentor.instrument(telemetry=sdk.rig.telemetry)
    await Runner.run(agent, "hi")
    assert [s.name for s in sdk.rig.spans()][-1] == "invoke_workflow Agent workflow"


def test_without_the_sdk_instrument_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "agents" else real(name, *a))
    with pytest.raises(ModuleNotFoundError, match=r'pip install "otelagents\[agents-sdk\]"'):
        OpenAIAgentsInstrumentor().instrument()


def test_an_unknown_sdk_version_warns_once_and_instruments(monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    agents_module = sys.modules["agents"]
    monkeypatch.setattr(agents_module, "__version__", "9.1.0")
    monkeypatch.setattr(_instrumentor, "_warned", set())
    instrumentor = OpenAIAgentsInstrumentor()
    with caplog.at_level(logging.WARNING, logger="otelagents.instrumentation.agents_sdk"):
        for _ in range(2):
            instrumentor.instrument()
            instrumentor.uninstrument()
    warnings = [r for r in caplog.records if "outside the tested range" in r.getMessage()]
    assert len(warnings) == 1 and "9.1.0" in warnings[0].getMessage()


def test_missing_internals_are_skipped_with_one_warning(monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    from otelagents.instrumentation.agents_sdk import _patches

    monkeypatch.setattr(_patches, "PATCHES", (*_patches.PATCHES, ("agents.run", "AgentRunner.gone", _patches._run)))
    monkeypatch.setattr(_instrumentor, "_warned", set())
    instrumentor = OpenAIAgentsInstrumentor()
    with caplog.at_level(logging.WARNING, logger="otelagents.instrumentation.agents_sdk"):
        instrumentor.instrument()
    try:
        messages = [r.getMessage() for r in caplog.records]
        assert any("agents.run.AgentRunner.gone" in m for m in messages)
        import agents

        assert hasattr(agents.run.AgentRunner.run, "__wrapped__")  # the rest is instrumented
    finally:
        instrumentor.uninstrument()
    import agents

    assert not hasattr(agents.run.AgentRunner.run, "__wrapped__")


async def test_set_trace_processors_keeps_the_plugin(sdk: SDKRig) -> None:
    from agents import set_trace_processors

    from tests.agents_sdk_helpers import RecordingProcessor

    replacement = RecordingProcessor()
    set_trace_processors([replacement])  # what an application does to stop exporting to OpenAI's backend
    sdk.server.add(Reply.text("kept"))
    await Runner.run(Agent(name="Kept", model=sdk.model("responses")), "hi")
    assert replacement.traces == 1 and sdk.user_processor.traces == 0
    assert tree(sdk.rig.spans())[0][0] == "invoke_workflow Agent workflow"
    assert len(sdk.rig.spans()) == 3


def test_the_agents_sdk_extra_brings_the_sdk() -> None:
    import pathlib

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    extra = pyproject["project"]["optional-dependencies"]["agents-sdk"]
    assert any(req.replace(" ", "").startswith("openai-agents>=0.24.0") for req in extra)
    entry_points = pyproject["project"]["entry-points"]["opentelemetry_instrumentor"]
    assert entry_points["otelagents_agents_sdk"] == "otelagents.instrumentation.agents_sdk:OpenAIAgentsInstrumentor"


def test_instrument_takes_providers_and_telemetry_settings_and_refuses_others() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    instrumentor = OpenAIAgentsInstrumentor()
    with pytest.raises(TypeError, match="unknown settings"):
        instrumentor.instrument(colour="blue")
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor.instrument(tracer_provider=provider, stall_threshold_s=2.0, capture_content=True)
    try:
        telemetry = instrumentor.telemetry
        assert telemetry.stall_threshold_s == 2.0 and telemetry.capture_content is True
        assert telemetry.tracer is not None
    finally:
        instrumentor.uninstrument()
