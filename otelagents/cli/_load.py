"""Load mode (``--runs N --concurrency C``): many runs, no live text, a progress bar, a summary table.

It feeds the dashboards: point Prometheus at ``/metrics`` (``--serve`` keeps it up afterwards) or send
OTLP to a collector. The table is read from the telemetry: per scenario, the run count, failures and
duration quantiles and the run-level first text from the ``invoke_workflow`` spans, time to first token
from the ``chat`` spans (exact quantiles over the span attributes), and inter-token gaps from the engine's
histogram (estimates, marked so).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from time import perf_counter
from typing import TextIO

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from otelagents._quantiles import nearest_rank
from otelagents._scenarios import Scenario
from otelagents.profile._terminal import Progress
from otelagents.run import Runner
from otelagents.telemetry import semconv as sc

from ._demo import warm_up
from ._errors import CLIError, explain_run_error
from ._pipeline import Pipeline
from ._report import MetricsView, duration_s, estimate, ms, operation
from ._target import Target, TargetSpec


async def run_load(scenarios: list[Scenario], spec: TargetSpec, pipeline: Pipeline, runs: int, concurrency: int,
                   out: TextIO, err: TextIO) -> int:
    await warm_up(scenarios)
    target = Target(spec)
    progress = Progress(runs, err, unit="runs", rate_unit="runs/s", lines=10)
    gate = asyncio.Semaphore(concurrency)
    failures: list[BaseException] = []
    pipeline.spans.clear()
    before = MetricsView.of(pipeline.snapshot())

    async def one(index: int) -> None:
        scenario = scenarios[index % len(scenarios)]
        async with gate:
            failed = False
            try:
                result = Runner.run_streamed(scenario.agent(), scenario.prompt,
                                             run_config=target.run_config(scenario, [pipeline.telemetry]))
                async for _ in result.stream_events():
                    pass
            except Exception as exc:  # noqa: BLE001 - counted and reported below; the other runs go on
                failures.append(exc)
                failed = True
            progress.advance(failed)

    started = perf_counter()
    try:
        await asyncio.gather(*(one(i) for i in range(runs)))
    finally:
        await target.close()
    wall = perf_counter() - started
    if failures and len(failures) == runs:
        explained = explain_run_error(failures[0], spec.server)
        if explained is None:
            raise failures[0]
        raise CLIError(f"all {runs} runs failed; the first: {explained.message}") from failures[0]
    added = MetricsView.of(pipeline.snapshot()).minus(before)
    for line in table(pipeline.finished_spans(), [s.workflow_name for s in scenarios], wall, added):
        out.write(line + "\n")
    out.flush()
    if failures:
        explained = explain_run_error(failures[0], spec.server)
        reason = explained.message if explained is not None else f"{type(failures[0]).__name__}: {failures[0]}"
        err.write(f"otelagents demo: {len(failures)} of {runs} runs failed; the first: {reason}\n")
    return 0


def table(spans: Sequence[ReadableSpan], workflows: list[str], wall_s: float, metrics: MetricsView) -> list[str]:
    """The summary table: one row per scenario (workflow) and one for all runs."""
    trace_workflow: dict[int, str] = {}
    durations: dict[str, list[float]] = {w: [] for w in workflows}
    errors: dict[str, int] = dict.fromkeys(workflows, 0)
    for span in spans:
        if operation(span) == sc.OP_INVOKE_WORKFLOW and span.context is not None:
            name = str((span.attributes or {}).get(sc.GEN_AI_WORKFLOW_NAME, ""))
            trace_workflow[span.context.trace_id] = name
            durations.setdefault(name, []).append(duration_s(span))
            errors[name] = errors.get(name, 0) + (span.status.status_code is StatusCode.ERROR)
    first_texts: dict[str, list[float]] = {w: [] for w in durations}
    for span in spans:
        value = (span.attributes or {}).get(sc.OTELAGENTS_RUN_TIME_TO_FIRST_TEXT)
        if operation(span) == sc.OP_INVOKE_WORKFLOW and isinstance(value, float):
            first_texts.setdefault(str((span.attributes or {}).get(sc.GEN_AI_WORKFLOW_NAME, "")), []).append(value)
    ttfts: dict[str, list[float]] = {w: [] for w in durations}
    for span in spans:
        value = (span.attributes or {}).get(sc.OTELAGENTS_TIME_TO_FIRST_TOKEN)
        if operation(span) == sc.OP_CHAT and isinstance(value, float) and span.context is not None:
            ttfts.setdefault(trace_workflow.get(span.context.trace_id, "?"), []).append(value)
    header = ("scenario", "runs", "errors", "runs/s", "first text p50", "first text p95", "TTFT p50", "TTFT p95",
              "run p50", "run p95")
    rows = [header]
    everything = [*durations, "all runs"]
    for name in everything:
        if name == "all runs":
            runs_d = [d for values in durations.values() for d in values]
            ttft = [t for values in ttfts.values() for t in values]
            text = [t for values in first_texts.values() for t in values]
            failed = sum(errors.values())
        else:
            runs_d, ttft, failed = durations[name], ttfts.get(name, []), errors.get(name, 0)
            text = first_texts.get(name, [])
        rows.append((name, str(len(runs_d)), str(failed), f"{len(runs_d) / wall_s:.1f}" if wall_s > 0 else "-",
                     ms(nearest_rank(text, 0.5)), ms(nearest_rank(text, 0.95)),
                     ms(nearest_rank(ttft, 0.5)), ms(nearest_rank(ttft, 0.95)), ms(nearest_rank(runs_d, 0.5)),
                     ms(nearest_rank(runs_d, 0.95))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["", f"load: {len(trace_workflow)} runs in {wall_s:.2f} s"]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  " + "  ".join(cells))
    gaps = metrics.histogram(sc.METRIC_TIME_PER_OUTPUT_CHUNK)
    rate = metrics.histogram(sc.METRIC_OUTPUT_TOKENS_PER_SECOND).mean
    lines.append("  exact (nearest-rank over the spans): first text = the run's start to its first visible text; "
                 "TTFT = per model call")
    if gaps.count:
        lines.append(f"  inter-token gap (histogram estimate): p50 {estimate(gaps, 0.5)}  p95 {estimate(gaps, 0.95)}  "
                     f"p99 {estimate(gaps, 0.99)}  mean {ms(gaps.mean)} (exact) over {gaps.count} gaps"
                     + (f"; decode rate {rate:.1f} tokens/s" if rate is not None else ""))
    return lines
