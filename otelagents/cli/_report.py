"""What the telemetry saw, as text: a run's summary and its trace tree.

Every figure is read from the telemetry itself, never measured on the side:

* from the ``MetricsEngine`` (the numbers ``/metrics`` serves), as the difference between a snapshot taken
  before the run and one taken after it: inter-token gap quantiles (estimated from the histogram buckets
  by linear interpolation, as Prometheus' ``histogram_quantile`` does, and printed as estimates: ``~``, or
  ``<``/``>`` a bound when they fall in the lowest or the ``+Inf`` bucket), their exact mean (sum / count),
  and the decode rate;
* from the finished spans: time to first token and first chunk (``chat`` span attributes), duration (the
  ``invoke_workflow`` span), token usage, and the tool and handoff ``execute_tool`` spans.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from otelagents._quantiles import bucket_quantile
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import HistogramPoint, MetricSnapshot, NumberPoint


# --- metrics ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Histo:
    """One histogram with every series merged. ``counts`` per bucket, ``len(bounds) + 1`` long."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    count: int
    sum: float

    def plus(self, point: HistogramPoint) -> Histo:
        counts = tuple(a + b for a, b in zip(self.counts, point.bucket_counts, strict=True))
        return Histo(self.bounds, counts, self.count + point.count, self.sum + point.sum)

    def minus(self, earlier: Histo) -> Histo:
        counts = tuple(a - b for a, b in zip(self.counts, earlier.counts, strict=True))
        return Histo(self.bounds, counts, self.count - earlier.count, self.sum - earlier.sum)

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile estimated from the buckets, as Prometheus' ``histogram_quantile`` does."""
        return bucket_quantile(q, self.bounds, self.counts) if self.count > 0 else None


def estimate(histo: Histo, q: float) -> str:
    """A histogram quantile as text, marked as the estimate it is: ``~3.1 ms``; ``< 0.1 ms`` when it falls in
    the lowest bucket (all it says is "under that bound"), ``> 10,000 ms`` in the ``+Inf`` one; ``-`` when empty."""
    if histo.count <= 0:
        return "-"
    rank, below_first = q * histo.count, histo.counts[0]
    if rank <= below_first:
        return f"< {ms(histo.bounds[0])}"
    if rank > histo.count - histo.counts[-1]:
        return f"> {ms(histo.bounds[-1])}"
    return f"~{ms(histo.quantile(q))}"


def _empty(bounds: tuple[float, ...]) -> Histo:
    return Histo(bounds, (0,) * (len(bounds) + 1), 0, 0.0)


@dataclass(frozen=True)
class MetricsView:
    """Histograms and counters of one engine snapshot, every series of a metric merged."""

    histograms: dict[str, Histo]
    counters: dict[str, float]

    @classmethod
    def of(cls, snapshots: Iterable[MetricSnapshot]) -> MetricsView:
        histograms: dict[str, Histo] = {}
        counters: dict[str, float] = {}
        for snap in snapshots:
            if snap.kind == "histogram":
                merged = _empty(snap.spec.buckets)
                for point in snap.points:
                    assert isinstance(point, HistogramPoint)
                    merged = merged.plus(point)
                histograms[snap.name] = merged
            elif snap.kind == "counter":
                counters[snap.name] = sum(p.value for p in snap.points if isinstance(p, NumberPoint))
        return cls(histograms, counters)

    def minus(self, earlier: MetricsView) -> MetricsView:
        histograms = {name: h.minus(earlier.histograms[name]) if name in earlier.histograms else h
                      for name, h in self.histograms.items()}
        counters = {name: v - earlier.counters.get(name, 0.0) for name, v in self.counters.items()}
        return MetricsView(histograms, counters)

    def histogram(self, name: str) -> Histo:
        return self.histograms.get(name) or _empty(sc.METRICS_BY_NAME[name].buckets)


# --- spans ------------------------------------------------------------------------------------------------
def _attr(span: ReadableSpan, key: str) -> object:
    return (span.attributes or {}).get(key)


def _number(span: ReadableSpan, key: str) -> float | None:
    value = _attr(span, key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def duration_s(span: ReadableSpan) -> float:
    if span.start_time is None or span.end_time is None:
        return 0.0
    return (span.end_time - span.start_time) / 1e9


def operation(span: ReadableSpan) -> str:
    return str(_attr(span, sc.GEN_AI_OPERATION_NAME) or "")


def is_handoff(span: ReadableSpan) -> bool:
    return _attr(span, sc.GEN_AI_AGENT_HANDOFF_TARGET_NAME) is not None


def by_start(spans: Iterable[ReadableSpan]) -> list[ReadableSpan]:
    return sorted(spans, key=lambda s: s.start_time or 0)


# --- one run ----------------------------------------------------------------------------------------------
@dataclass
class RunSummary:
    workflow: str = ""
    trace_id: str = ""
    duration_s: float = 0.0
    failed: bool = False
    ttfts: list[float] = field(default_factory=list)  # per model call, in call order
    first_text_s: float | None = None  # the run's start to its first visible text (invoke_workflow attribute)
    first_chunk_s: float | None = None  # of the first model call
    input_tokens: int = 0
    output_tokens: int = 0
    tools: int = 0
    handoffs: int = 0
    gaps: Histo = field(default_factory=lambda: _empty(sc.CHUNK_GAP_BUCKETS))
    rates: Histo = field(default_factory=lambda: _empty(sc.TOKENS_PER_SECOND_BUCKETS))

    @property
    def model_calls(self) -> int:
        return len(self.ttfts)


def summarize(spans: Sequence[ReadableSpan], metrics: MetricsView) -> RunSummary:
    """The summary of one run from its spans and the metrics it added (an engine-snapshot difference)."""
    summary = RunSummary(gaps=metrics.histogram(sc.METRIC_TIME_PER_OUTPUT_CHUNK),
                         rates=metrics.histogram(sc.METRIC_OUTPUT_TOKENS_PER_SECOND))
    for span in by_start(spans):
        op = operation(span)
        if op == sc.OP_INVOKE_WORKFLOW:
            summary.workflow = str(_attr(span, sc.GEN_AI_WORKFLOW_NAME) or "")
            summary.trace_id = f"{span.context.trace_id:032x}" if span.context is not None else ""
            summary.duration_s = duration_s(span)
            summary.failed = span.status.status_code is StatusCode.ERROR
            summary.input_tokens = int(_number(span, sc.GEN_AI_USAGE_INPUT_TOKENS) or 0)
            summary.output_tokens = int(_number(span, sc.GEN_AI_USAGE_OUTPUT_TOKENS) or 0)
            summary.first_text_s = _number(span, sc.OTELAGENTS_RUN_TIME_TO_FIRST_TEXT)
        elif op == sc.OP_CHAT:
            ttft = _number(span, sc.OTELAGENTS_TIME_TO_FIRST_TOKEN)
            if ttft is not None:
                summary.ttfts.append(ttft)
                if summary.first_chunk_s is None:
                    summary.first_chunk_s = _number(span, sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)
        elif op == sc.OP_EXECUTE_TOOL:
            if is_handoff(span):
                summary.handoffs += 1
            else:
                summary.tools += 1
    return summary


def ms(seconds: float | None) -> str:
    """A duration in milliseconds: three decimals below 0.1 ms (a 30 µs mean is not "0.0 ms"), one below
    10 ms, whole milliseconds above."""
    if seconds is None or math.isnan(seconds):
        return "-"
    value = seconds * 1000
    if value < 0.1:
        return f"{value:.3f} ms"
    return f"{value:.1f} ms" if value < 10 else f"{value:,.0f} ms"


def summary_lines(summary: RunSummary) -> list[str]:
    gaps, rates = summary.gaps, summary.rates
    lines = []
    if summary.first_text_s is not None:
        lines.append(f"time to first text    {ms(summary.first_text_s)}   (the run's start to the first text a "
                     f"user sees, across tools and handoffs)")
    else:
        lines.append("time to first text    - (no text arrived)")
    if summary.ttfts:
        each = " / ".join(ms(t) for t in summary.ttfts)
        calls = f"   model calls: {summary.model_calls} ({each})" if summary.model_calls > 1 else ""
        lines.append(f"time to first token   {ms(summary.ttfts[0])}   first chunk after "
                     f"{ms(summary.first_chunk_s)}   (first model call){calls}")
    else:
        lines.append("time to first token   - (no output arrived)")
    if gaps.count:
        lines.append(f"inter-token gap       p50 {estimate(gaps, 0.5)}   p95 {estimate(gaps, 0.95)}   "
                     f"p99 {estimate(gaps, 0.99)}   mean {ms(gaps.mean)} over {gaps.count} gaps")
    else:
        lines.append("inter-token gap       - (fewer than two output chunks)")
    rate = rates.mean
    if rate is not None:
        calls = f"model call{'s' if rates.count != 1 else ''}"
        lines.append(f"decode rate           {rate:,.1f} tokens/s (mean over {rates.count} {calls})")
    else:
        lines.append("decode rate           - (needs two output chunks and token usage)")
    outcome = "  FAILED" if summary.failed else ""
    lines.append(f"duration              {ms(summary.duration_s)}{outcome}")
    lines.append(f"tokens                {summary.input_tokens} input, {summary.output_tokens} output")
    lines.append(f"tool calls            {summary.tools}   handoffs {summary.handoffs}")
    lines.append("exact figures come from the spans; ~ marks a quantile estimated from histogram buckets "
                 "(< or > when it falls in the lowest or the +Inf bucket)")
    return lines


# --- the trace tree ---------------------------------------------------------------------------------------
def _glyphs() -> tuple[str, str, str, str]:
    """Box-drawing characters when stdout can encode them, ASCII otherwise."""
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "├─└│·".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "|- ", "`- ", "|  ", "-"
    return "├─ ", "└─ ", "│  ", "·"


def _details(span: ReadableSpan, dot: str) -> str:
    op = operation(span)
    parts: list[str] = []
    if op == sc.OP_CHAT:
        ttft = _number(span, sc.OTELAGENTS_TIME_TO_FIRST_TOKEN)
        if ttft is not None:
            parts.append(f"ttft {ms(ttft)}")
        chunks = _number(span, sc.OTELAGENTS_OUTPUT_CHUNKS)
        if chunks is not None:
            parts.append(f"{int(chunks)} chunk{'s' if chunks != 1 else ''}")
        out = _number(span, sc.GEN_AI_USAGE_OUTPUT_TOKENS)
        if out is not None:
            parts.append(f"{int(_number(span, sc.GEN_AI_USAGE_INPUT_TOKENS) or 0)} in/{int(out)} out tokens")
        reasons = _attr(span, sc.GEN_AI_RESPONSE_FINISH_REASONS)
        if reasons:
            parts.append("finish " + ",".join(map(str, reasons)))  # type: ignore[call-overload]
    elif op == sc.OP_EXECUTE_TOOL and is_handoff(span):
        parts.append(f"handoff {_attr(span, sc.GEN_AI_AGENT_HANDOFF_SOURCE_NAME)} -> "
                     f"{_attr(span, sc.GEN_AI_AGENT_HANDOFF_TARGET_NAME)}")
    if span.status.status_code is StatusCode.ERROR:
        parts.append(f"ERROR {_attr(span, sc.ERROR_TYPE) or span.status.description or ''}".rstrip())
    return f" {dot} ".join(parts)


def trace_lines(spans: Sequence[ReadableSpan]) -> list[str]:
    """The spans as a tree (roots first, children by start time), each with its duration."""
    branch, last, pipe, dot = _glyphs()
    ids = {s.context.span_id for s in spans if s.context is not None}
    children: dict[int, list[ReadableSpan]] = {}
    roots: list[ReadableSpan] = []
    for span in spans:
        parent = span.parent.span_id if span.parent is not None else None
        if parent is None or parent not in ids:
            roots.append(span)
        else:
            children.setdefault(parent, []).append(span)
    rows: list[tuple[str, ReadableSpan]] = []

    def walk(span: ReadableSpan, prefix: str, head: str) -> None:
        rows.append((prefix + head + span.name, span))
        kids = by_start(children.get(span.context.span_id, []) if span.context is not None else [])
        below = prefix + ("" if not head else (pipe if head == branch else "   "))
        for i, kid in enumerate(kids):
            walk(kid, below, last if i == len(kids) - 1 else branch)

    for root in by_start(roots):
        walk(root, "", "")
    width = max((len(label) for label, _ in rows), default=0) + 2
    lines = []
    for label, span in rows:
        details = _details(span, dot)
        line = f"{label.ljust(width)}{ms(duration_s(span)):>10}"
        lines.append(f"{line}   {details}" if details else line)
    return lines
