"""Production lifecycle (issue 15): exports stay under the OTLP message limit, and ``force_flush`` /
``shutdown`` honour their timeout in total and say ``False`` when anything was dropped or refused.

``setup()`` installs a global tracer provider and an exit hook, so those checks run in a fresh process
against the real OTLP receiver; the exporter and processor pieces are checked in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otelagents.telemetry._export import (
    CountingBatchSpanProcessor,
    LossCounter,
    SizeBoundedSpanExporter,
    estimate_span_bytes,
)
from otelagents.testing.otlp import OTLPReceiver

ROOT = Path(__file__).resolve().parent.parent
FOUR_MIB = 4 * 1024 * 1024

SCRIPT = textwrap.dedent("""
    import asyncio, json, sys, time
    from otelagents import Agent, RunConfig, Runner, function_tool
    from otelagents.testing import ScriptedModel, tool_call
    from otelagents.telemetry import setup

    options = json.loads(sys.argv[1])
    runs, flush_s = options.pop("runs"), options.pop("flush_s")
    handle = setup(prometheus=False, **options)

    @function_tool
    def explode(blob: str) -> str:
        "Fails with a megabyte-long message."
        raise ValueError("E" * 1_000_000)

    async def main() -> None:
        config = RunConfig(trace_include_sensitive_data=True,  # content capture on
                           trace_metadata={"blob": "M" * 100_000})
        for i in range(runs):
            model = ScriptedModel([[tool_call("explode", {"blob": "B" * 20_000})], "x" * 20_000])
            agent = Agent("big", instructions="I" * 20_000, model=model, tools=[explode])
            await Runner.run(agent, "P" * 20_000, run_config=config)

    asyncio.run(main())
    started = time.monotonic()
    flushed = handle.force_flush(flush_s)
    flush_elapsed = time.monotonic() - started
    started = time.monotonic()
    shut = handle.shutdown(timeout_s=flush_s)
    print(json.dumps({"flushed": flushed, "flush_s": flush_elapsed, "shutdown": shut,
                      "shutdown_s": time.monotonic() - started}))
""")


def run_script(options: dict[str, Any], timeout_s: float = 120) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(options)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout_s, check=False)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["stderr"] = done.stderr
    return report


SPANS_PER_RUN = 5  # workflow, agent, chat, execute_tool, chat


def test_big_captured_runs_export_in_requests_the_collector_accepts(otlp_receiver: OTLPReceiver) -> None:
    # 60 runs of 5 spans, each carrying ~8 KiB content values: ~10 MB in one 300-span batch unsplit.
    report = run_script({"otlp_endpoint": otlp_receiver.grpc_endpoint, "runs": 60, "flush_s": 30})
    assert report["flushed"] is True, report["stderr"]
    assert report["shutdown"] is True, report["stderr"]
    spans = otlp_receiver.wait_for_spans(60 * SPANS_PER_RUN, timeout_s=30)
    assert len(spans) == 60 * SPANS_PER_RUN  # every batch accepted, none lost
    bodies = otlp_receiver._bodies
    assert len(bodies) > 1 and max(len(b) for b in bodies) < FOUR_MIB
    tool = next(s for s in spans if s.name == "execute_tool explode")
    (event,) = tool.events
    assert len(event.attributes["exception.message"]) == 8192  # cut to the default content limit
    workflow = next(s for s in spans if s.name.startswith("invoke_workflow"))
    assert len(workflow.attributes["otelagents.metadata.blob"]) == 8192  # not content, bounded all the same
    for span in spans:
        for value in span.attributes.values():
            assert not isinstance(value, str) or len(value) <= 8192


def test_force_flush_against_a_hung_collector_returns_false_within_its_timeout() -> None:
    with OTLPReceiver(hang_limit_s=60) as receiver:
        receiver.behaviour = "hang"
        report = run_script({"otlp_endpoint": receiver.grpc_endpoint, "runs": 1, "flush_s": 2.0,
                             "metrics_interval_s": 3600})
    assert report["flushed"] is False
    assert report["flush_s"] < 2.0 + 3.0, report  # the timeout in total, with room for a busy machine
    assert report["shutdown"] is False
    assert report["shutdown_s"] < 2.0 + 3.0, report


def test_force_flush_reports_a_refused_export_as_false() -> None:
    with OTLPReceiver() as receiver:
        receiver.behaviour = "refuse"
        report = run_script({"otlp_endpoint": receiver.http_endpoint, "otlp_protocol": "http/protobuf",
                             "runs": 1, "flush_s": 20.0})
    assert report["flushed"] is False
    assert "dropped or refused" in report["stderr"]


def test_force_flush_is_true_when_everything_arrived(otlp_receiver: OTLPReceiver) -> None:
    report = run_script({"otlp_endpoint": otlp_receiver.grpc_endpoint, "runs": 1, "flush_s": 20.0})
    assert report["flushed"] is True and report["shutdown"] is True
    assert len(otlp_receiver.wait_for_spans(SPANS_PER_RUN)) == SPANS_PER_RUN


# --- the pieces -----------------------------------------------------------------------------------------

def spans_with(sizes: Sequence[int]) -> list[ReadableSpan]:
    provider = TracerProvider()
    memory = InMemorySpanExporter()
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("t")
    for i, size in enumerate(sizes):
        with tracer.start_as_current_span(f"s{i}", attributes={"blob": "x" * size}):
            pass
    return list(memory.get_finished_spans())


class Recording(SpanExporter):
    def __init__(self, result: SpanExportResult = SpanExportResult.SUCCESS, raises: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.result = result
        self.raises = raises

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.batches.append([s.name for s in spans])
        if self.raises:
            raise RuntimeError("exporter bug")
        return self.result


def test_estimate_is_an_upper_bound_of_the_encoded_size() -> None:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    for span in spans_with([0, 10, 5000, 100_000]) + spans_with([]):
        assert estimate_span_bytes(span) >= encode_spans([span]).ByteSize() - 200  # resource/scope framing
    (wide,) = spans_with([0])
    assert estimate_span_bytes(wide) < 1000


def test_batches_are_split_under_the_limit_in_order() -> None:
    spans = spans_with([3000] * 10)
    inner = Recording()
    exporter = SizeBoundedSpanExporter(inner, max_bytes=10_000)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    assert [name for batch in inner.batches for name in batch] == [f"s{i}" for i in range(10)]
    assert all(1 <= len(batch) <= 3 for batch in inner.batches)
    assert exporter.losses.take() == 0
    one = Recording()
    assert SizeBoundedSpanExporter(one, max_bytes=10_000).export(spans_with([10])) is SpanExportResult.SUCCESS
    assert one.batches == [["s0"]]
    empty = Recording()
    assert SizeBoundedSpanExporter(empty).export([]) is SpanExportResult.SUCCESS and empty.batches == []


def test_a_span_over_the_limit_alone_is_dropped_and_counted_not_its_batch() -> None:
    inner = Recording()
    exporter = SizeBoundedSpanExporter(inner, max_bytes=10_000)
    assert exporter.export(spans_with([100, 50_000, 100])) is SpanExportResult.FAILURE
    assert inner.batches == [["s0", "s2"]]
    assert exporter.losses.take() == 1 and exporter.losses.take() == 0


@pytest.mark.parametrize("inner", [Recording(SpanExportResult.FAILURE), Recording(raises=True)],
                         ids=["failure", "raises"])
def test_a_failed_chunk_is_counted(inner: Recording) -> None:
    exporter = SizeBoundedSpanExporter(inner, max_bytes=10_000)
    assert exporter.export(spans_with([3000] * 4)) is SpanExportResult.FAILURE
    assert exporter.losses.take() == 4


def test_max_bytes_must_be_sensible() -> None:
    with pytest.raises(ValueError, match="at least 1024"):
        SizeBoundedSpanExporter(Recording(), max_bytes=10)


class Blocking(SpanExporter):
    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.entered.set()
        self.release.wait(30)
        return SpanExportResult.SUCCESS


def test_a_full_queue_drop_is_counted() -> None:
    losses = LossCounter()
    blocking = Blocking()
    processor = CountingBatchSpanProcessor(blocking, losses, max_queue_size=2, max_export_batch_size=2,
                                           schedule_delay_millis=60_000)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    try:
        for _ in range(2):
            tracer.start_span("first").end()
        assert blocking.entered.wait(10)  # the worker took both and is stuck exporting them
        for _ in range(2):
            tracer.start_span("queued").end()
        assert losses.take() == 0
        tracer.start_span("dropped").end()
        assert losses.take() == 1
    finally:
        blocking.release.set()
        provider.shutdown()


def test_setup_bounds_every_attribute_unless_the_environment_says_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    from otelagents.telemetry._setup import _span_limits

    monkeypatch.delenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", raising=False)
    assert _span_limits().max_attribute_length == 8192
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100000")
    assert _span_limits().max_attribute_length == 100_000
