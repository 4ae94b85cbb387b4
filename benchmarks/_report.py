"""The table: one row per figure, with its target and whether it was met.

Rows are built from whatever sections ran; a section that did not run, or a variant that could not (an
optional package missing), still gets its rows, marked ``n/a`` with the reason, so the table always has
the same shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from benchmarks._pairs import PairedResult, format_ratio
from benchmarks._stats import median
from benchmarks.accuracy import AccuracyResult
from benchmarks.instructions import LABELS as INSTRUCTION_LABELS
from benchmarks.instructions import PHASES as INSTRUCTION_PHASES
from benchmarks.instructions import InstructionsResult
from benchmarks.resolution import ResolutionResult, worst
from benchmarks.scale import ScaleResult
from benchmarks.telemetry_cost import HotPathCost
from benchmarks.throughput import LABELS, ORDER, ThroughputResult


@dataclass(frozen=True)
class Row:
    section: str
    figure: str
    value: str
    target: str = ""
    status: str = ""  # "ok", "MISSED", "" (no target) or "n/a"


def _num(value: float, fmt: str) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)


def _check(value: float, ok: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return "ok" if ok else "MISSED"


def throughput_rows(t: ThroughputResult | None, skipped_why: str = "section not run") -> list[Row]:
    s = "1 throughput"
    rows = []
    for key in ORDER:
        why = (t.skipped.get(key) if t is not None else skipped_why) or ""
        value = _num(t.rate(key), ",.0f") if t is not None and t.has(key) else f"n/a ({why})"
        rows.append(Row(s, f"events/s, {LABELS[key]}", value))
    ratios = [
        ("ours full / SDK tracing off", "ours_full", "sdk_off", ">= 5x (aim >= 8x)", 5.0),
        ("ours full / SDK + OTel", "ours_full", "sdk_otel", "", None),
        ("ours off / SDK tracing off", "ours_off", "sdk_off", "", None),
        ("ours off / floor", "ours_off", "floor", "", None),
        ("ours full / floor", "ours_full", "floor", "aim >= 0.5", 0.5),
    ]
    for name, a, b, target, bound in ratios:
        by_cpu = "CPU" in name
        ratio = float("nan") if t is None else (t.cpu_ratio(a, b) if by_cpu else t.ratio(a, b))
        shown = _num(ratio, ".2f") + ("x" if not math.isnan(ratio) else "")
        status = "" if bound is None else _check(ratio, ratio >= bound)
        rows.append(Row(s, f"ratio {name} (median of per-round ratios)", shown, target, status))
        if a == "ours_off" and b == "sdk_off":  # then ours' own telemetry ratios, from the paired runs
            rows += _paired_rows(s, t)
    return rows


def _paired_rows(s: str, t: ThroughputResult | None) -> list[Row]:
    pairs = t.pairs if t is not None else None
    n = f"{pairs.rounds} paired runs" if pairs is not None else "paired runs"
    sdk_pairs = t.sdk_pairs if t is not None else None
    sdk_n = f"{sdk_pairs.rounds} paired runs" if sdk_pairs is not None else "paired runs"
    rows = []
    for name, source, runs, a, b, cpu, target, bound in (
            ("full / off (ours)", pairs, n, "ours_full", "ours_off", False, ">= 0.9", 0.9),
            ("full / off (ours), events per CPU second", pairs, n, "ours_full", "ours_off", True, "", None),
            ("SDK + otelagents plugin / SDK tracing off, events per CPU second", sdk_pairs, sdk_n, "sdk_plugin",
             "sdk_off", True, ">= 0.97", 0.97)):
        ratio = source.ratio(a, b, cpu=cpu) if source is not None else (math.nan,) * 3
        status = "" if bound is None else _check(ratio[0], ratio[0] >= bound)
        rows.append(Row(s, f"ratio {name} (median of {runs}, 95% CI)", format_ratio(ratio), target, status))
    return rows


def cost_rows(t: ThroughputResult | None, hot: HotPathCost | None) -> list[Row]:
    s = "2 telemetry cost"
    def cost(a: str, b: str, source: ThroughputResult | PairedResult | None = t) -> str:
        if source is None or not source.has(a, b):
            return "n/a"
        return f"{source.cost_us_per_event(a, b):.2f} / {source.cost_us_per_event(a, b, cpu=True):.2f}"

    pairs = t.pairs if t is not None else None
    rows = [
        Row(s, "µs per chunk, ours: full - off, wall / CPU (paired runs)", cost("ours_full", "ours_off", pairs)),
        Row(s, "µs per chunk, SDK: OTel - tracing off, wall / CPU (same rounds)", cost("sdk_otel", "sdk_off")),
        Row(s, "µs per chunk, SDK: otelagents plugin - tracing off, wall / CPU (paired runs)",
            cost("sdk_plugin", "sdk_off", t.sdk_pairs if t is not None else None)),
    ]
    figure = "µs per text delta, hot path alone: the loop's event-timer step / event() (no-op hook)"
    if hot is None:
        rows.append(Row(s, figure, "n/a (section not run)"))
    else:
        rows.append(Row(s, figure, f"{hot.timer_us:.3f} / {hot.event_us:.3f} ({hot.noop_us:.3f})"))
    rows.append(_plugin_row(s, t, hot))
    return rows


def _plugin_row(s: str, t: ThroughputResult | None, hot: HotPathCost | None) -> Row:
    """The SDK plugin's own CPU per event, and its share of the SDK's CPU per event (tracing off)."""
    figure = "µs CPU per event, SDK plugin's layers alone (share of SDK tracing off CPU per event)"
    if hot is None or hot.plugin_us is None:
        why = "section not run" if hot is None else "openai-agents not importable"
        return Row(s, figure, f"n/a ({why})", "<= 3 %")
    sdk_samples = t.samples.get("sdk_off", []) if t is not None else []
    if not sdk_samples:
        return Row(s, figure, f"{hot.plugin_us:.2f} (no SDK throughput rounds)", "<= 3 %")
    share = hot.plugin_us / median([x.cpu_us_per_event for x in sdk_samples])
    return Row(s, figure, f"{hot.plugin_us:.2f} ({share:.2%})", "<= 3 %", _check(share, share <= 0.03))


def accuracy_rows(a: AccuracyResult | None) -> list[Row]:
    s = "3 accuracy"
    if a is None or not a.runs:
        return [Row(s, "time to first token abs error, median / max (ms)", "n/a (section not run)", "<= 2 ms"),
                Row(s, "mean chunk gap abs error, median / max (ms)", "n/a (section not run)")]
    ttft_med, ttft_max = a.errors_ms("ttft")
    gap_med, gap_max = a.errors_ms("gap")
    setting = f"truth: {a.truth_source}; TTFT {a.ttft * 1e3:.0f} ms, gap {a.gap * 1e3:.0f} ms, {len(a.runs)} runs"
    return [
        Row(s, f"time to first token abs error, median / max (ms) [{setting}]",
            f"{ttft_med:.2f} / {ttft_max:.2f}", "<= 2 ms", _check(ttft_max, ttft_max <= 2.0)),
        Row(s, "mean chunk gap abs error, median / max (ms)", f"{gap_med:.3f} / {gap_max:.3f}"),
    ]


def scale_rows(c: ScaleResult | None, why: str = "section not run") -> list[Row]:
    s = "4 scale"
    if c is None:
        names = ["concurrent streamed runs (peak in flight)", "wall time (s), ours (raw httpx floor)",
                 "peak RSS (MiB) / per run (KiB)",
                 "spans / traces exported", "complete traces, one trace per run", "failed runs"]
        return [Row(s, name, f"n/a ({why})") for name in names]
    complete_ok = c.complete == c.runs and c.one_trace_per_run and c.spans == 3 * c.runs
    return [
        Row(s, "concurrent streamed runs (peak in flight)", f"{c.runs} ({c.peak_in_flight})"),
        Row(s, f"wall time (s), ours (raw httpx floor) [{c.deltas} deltas each]",
            f"{c.wall_s:.1f} ({_num(c.floor_wall_s, '.1f')})"),
        Row(s, "peak RSS (MiB) / per run (KiB)", f"{c.peak_rss_mib:.0f} / {c.kib_per_run:.0f}"),
        Row(s, "spans / traces exported", f"{c.spans} / {c.traces}", f"{3 * c.runs} / {c.runs}",
            _check(c.spans, c.spans == 3 * c.runs and c.traces == c.runs)),
        Row(s, "complete traces, one trace per run", f"{c.complete}, {'yes' if c.one_trace_per_run else 'no'}",
            f"{c.runs}, yes", "ok" if complete_ok else "MISSED"),
        Row(s, "failed runs", f"{c.failed}" + (f" ({c.error})" if c.error else ""), "0",
            _check(c.failed, c.failed == 0)),
    ]


def resolution_rows(r: ResolutionResult | None, why: str = "section not run") -> list[Row]:
    from otelagents.telemetry import semconv as sc

    s = "5 resolution"
    metrics = ((sc.METRIC_TIME_TO_FIRST_TOKEN, "time to first token", "20 ms - 10 s"),
               (sc.METRIC_TIME_PER_OUTPUT_CHUNK, "chunk gap", "0.5 ms - 2 s"))
    rows = []
    for metric, label, spread in metrics:
        figure = f"{label}: max relative error, /metrics p50/p90/p99 vs exact [{spread}]"
        budget = f"{label}: series per label set (buckets incl. +Inf, _sum, _count)"
        if r is None or metric not in r.budget:
            rows += [Row(s, figure, f"n/a ({why})", "<= 10%"), Row(s, budget, f"n/a ({why})")]
            continue
        error = r.max_error(metric)
        w = worst(e for e in r.estimates if e.metric == metric)
        where = f" (p{w.quantile * 100:g} of {w.workload})" if w is not None else ""
        rows.append(Row(s, figure + f", {r.values} values per workload; log-normal / worst case",
                        f"{r.max_error(metric, 'lognormal'):.2%} / {error:.2%}{where}", "<= 10%",
                        _check(error, error <= 0.10)))
        rows.append(Row(s, budget, str(r.budget[metric])))
    return rows


def instruction_rows(r: InstructionsResult | None) -> list[Row]:
    s = "7 instructions"
    why = "section not run" if r is None else r.skipped
    if r is None or r.skipped:
        missing = [Row(s, f"instructions per run, {INSTRUCTION_LABELS[p]}", f"n/a ({why})") for p in INSTRUCTION_PHASES]
        return missing + [
            Row(s, "ratio application's SDK providers: full / off, by instructions", f"n/a ({why})", ">= 0.95"),
            Row(s, "ratio setup(): full / off, by instructions", f"n/a ({why})", ">= 0.95")]
    rows = [Row(s, f"instructions per run, {INSTRUCTION_LABELS[p]} [{r.runs} runs of {r.deltas} deltas]",
                f"{r.per_run[p] / 1e6:,.1f} M") for p in INSTRUCTION_PHASES]
    drift = f" (off phases {r.drift():.1%} apart)"
    for name, phase in (("application's SDK providers: full / off", "app_default"), ("setup(): full / off", "setup")):
        ratio = r.ratio(phase)
        rows.append(Row(s, f"ratio {name}, by instructions", f"{ratio:.3f}x{drift}", ">= 0.95",
                        _check(ratio, ratio >= 0.95)))
    return rows


def render(rows: list[Row]) -> str:
    """A Markdown table (it reads as plain text too)."""
    header = ("Section", "Figure", "Value", "Target", "Status")
    cells = [header] + [(r.section, r.figure, r.value, r.target, r.status) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
