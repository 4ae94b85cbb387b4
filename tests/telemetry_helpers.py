"""Helpers for the telemetry tests: a real SDK tracer provider with an in-memory exporter, a tracker of
spans still open, span-tree shapes for whole-tree assertions, and metric read-back from the engine."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Sampler

from otelagents import Agent, RunConfig, Runner, RunResultStreaming
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import HistogramPoint, MetricsEngine, NumberPoint
from otelagents.telemetry._observer import Telemetry


class OpenSpanTracker(SpanProcessor):
    """Counts spans started and ended, to prove none is left open."""

    def __init__(self) -> None:
        self.open: dict[int, str] = {}
        self.ended_twice: list[str] = []
        self._ended: set[int] = set()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.open[span.context.span_id] = span.name

    def on_end(self, span: ReadableSpan) -> None:
        span_id = span.context.span_id
        if span_id in self._ended:
            self.ended_twice.append(span.name)
        self._ended.add(span_id)
        self.open.pop(span_id, None)


@dataclass
class Rig:
    """A tracer provider, an in-memory exporter, an engine, and a ``Telemetry`` over them."""

    provider: TracerProvider
    exporter: InMemorySpanExporter
    tracker: OpenSpanTracker
    engine: MetricsEngine
    telemetry: Telemetry
    extra: dict[str, Any] = field(default_factory=dict)

    def config(self, **kwargs: Any) -> RunConfig:
        return RunConfig(observers=[self.telemetry], **kwargs)

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        found = [s for s in self.spans() if s.name == name]
        assert len(found) == 1, f"expected one span {name!r}, got {[s.name for s in self.spans()]}"
        return found[0]


def make_rig(sampler: Sampler | None = None, **telemetry_kwargs: Any) -> Rig:
    provider = TracerProvider(sampler=sampler) if sampler is not None else TracerProvider()
    exporter = InMemorySpanExporter()
    tracker = OpenSpanTracker()
    provider.add_span_processor(tracker)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    engine = MetricsEngine()
    telemetry = Telemetry(provider, metrics=engine, **telemetry_kwargs)
    return Rig(provider, exporter, tracker, engine, telemetry)


# --- span trees ----------------------------------------------------------------------------------------

Node = tuple[str, str, str, Any, list[Any]]


def tree(spans: Sequence[ReadableSpan]) -> list[Node]:
    """Spans as nested ``(name, kind, status, error.type, children)``, children in start order."""
    ids = {s.context.span_id for s in spans}
    children: dict[int | None, list[ReadableSpan]] = defaultdict(list)
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        parent = span.parent.span_id if span.parent is not None and span.parent.span_id in ids else None
        children[parent].append(span)

    def node(span: ReadableSpan) -> Node:
        attrs = span.attributes or {}
        return (span.name, span.kind.name, span.status.status_code.name, attrs.get(sc.ERROR_TYPE),
                [node(c) for c in children[span.context.span_id]])

    return [node(s) for s in children[None]]


def one_trace(spans: Sequence[ReadableSpan]) -> int:
    trace_ids = {s.context.trace_id for s in spans}
    assert len(trace_ids) == 1, f"spans belong to {len(trace_ids)} traces"
    return trace_ids.pop()


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


# --- runs ----------------------------------------------------------------------------------------------

async def drain(result: RunResultStreaming, timeout_s: float = 10.0) -> list[Any]:
    """Every event of a streamed run, bounded in time."""

    async def collect() -> list[Any]:
        return [event async for event in result.stream_events()]

    return await asyncio.wait_for(collect(), timeout_s)


async def run_to_end(agent: Agent[Any], input: str, config: RunConfig, timeout_s: float = 10.0) -> RunResultStreaming:
    result = Runner.run_streamed(agent, input, run_config=config)
    await drain(result, timeout_s)
    return result


async def wait_done(result: RunResultStreaming, timeout_s: float = 5.0) -> None:
    task = result.run_loop_task
    assert task is not None
    await asyncio.wait_for(asyncio.wait([task]), timeout_s)


# --- metrics --------------------------------------------------------------------------------------------

def points_with(engine: MetricsEngine, name: str, attrs: dict[str, Any]) -> list[HistogramPoint | NumberPoint]:
    """The series of ``name`` whose attributes include ``attrs``."""
    for snap in engine.collect():
        if snap.name == name:
            return [p for p in snap.points if all(p.attributes.get(k) == v for k, v in attrs.items())]
    raise KeyError(name)


def hist(engine: MetricsEngine, name: str, attrs: dict[str, Any] | None = None) -> HistogramPoint:
    """The single histogram series of ``name`` matching ``attrs``."""
    found = points_with(engine, name, attrs or {})
    assert len(found) == 1, f"expected one {name} series matching {attrs}, got {[p.attributes for p in found]}"
    point = found[0]
    assert isinstance(point, HistogramPoint)
    return point


def counter_value(engine: MetricsEngine, name: str, attrs: dict[str, Any] | None = None) -> float:
    return sum(p.value for p in points_with(engine, name, attrs or {}) if isinstance(p, NumberPoint))


def bucket_of(point: HistogramPoint, value: float) -> int:
    """Index of the bucket ``value`` falls in (``le`` semantics)."""
    for i, bound in enumerate(point.bounds):
        if value <= bound:
            return i
    return len(point.bounds)


def received_tree(spans: Sequence[Any]) -> list[Node]:
    """``tree`` for spans decoded by ``OTLPReceiver`` (hex ids, string kinds and statuses)."""
    ids = {s.span_id for s in spans}
    children: dict[str | None, list[Any]] = defaultdict(list)
    for span in sorted(spans, key=lambda s: s.start_time_unix_nano):
        children[span.parent_span_id if span.parent_span_id in ids else None].append(span)

    def node(span: Any) -> Node:
        return (span.name, span.kind, span.status_code, span.attributes.get(sc.ERROR_TYPE),
                [node(c) for c in children[span.span_id]])

    return [node(s) for s in children[None]]
