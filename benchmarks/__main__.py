"""``python -m benchmarks``: run the benchmark sections and print one table.

    python -m benchmarks                       # the full default run (a few minutes on 2 cores)
    python -m benchmarks --quick               # tiny sizes, one round: proves the command works
    python -m benchmarks --only throughput,cost --rounds 9 --json out.json

Progress goes to stderr; the table (Markdown) to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import platform
import sys
import time
from dataclasses import dataclass
from typing import Any

SECTIONS = ("throughput", "cost", "accuracy", "scale", "resolution", "default", "instructions")


@dataclass(frozen=True)
class Settings:
    sections: tuple[str, ...]
    deltas: int
    rounds: int
    repeat: int
    pairs: int
    accuracy_runs: int
    accuracy_deltas: int
    ttft: float
    gap: float
    scale_runs: int
    scale_deltas: int
    scale_ttft: float
    scale_gap: float
    export_interval_s: float
    hot_path_number: int
    resolution_values: int
    instruction_runs: int


def parse(argv: list[str] | None) -> tuple[Settings, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one round (a smoke run)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections: {','.join(SECTIONS)}")
    parser.add_argument("--rounds", type=int, help="throughput rounds (default 7; quick 1)")
    parser.add_argument("--repeat", type=int, help="runs per measurement (default 3; quick 1)")
    parser.add_argument("--pairs", type=int, help="paired rounds of single runs behind the telemetry full/off "
                                                  "ratios, sections throughput and default (default 201; quick 3)")
    parser.add_argument("--deltas", type=int, help="deltas in the long answer (default 2000; quick 200)")
    parser.add_argument("--accuracy-runs", type=int, help="runs per API for accuracy (default 5; quick 1)")
    parser.add_argument("--scale-runs", type=int, help="concurrent runs for scale (default 1000; quick 20)")
    parser.add_argument("--instruction-runs", type=int, help="runs per phase under callgrind (default 3; quick 1)")
    parser.add_argument("--export-interval", type=float, default=5.0,
                        help="seconds between OTLP metric exports and /metrics scrapes (default 5)")
    parser.add_argument("--json", metavar="PATH", help="also write every measurement to this JSON file")
    args = parser.parse_args(argv)
    sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    quick = args.quick

    def pick(value: int | None, default: int, small: int) -> int:
        chosen = value if value is not None else (small if quick else default)
        if chosen < 1:
            parser.error("sizes, rounds and runs must be at least 1")
        return chosen

    settings = Settings(
        sections=sections, deltas=pick(args.deltas, 2000, 200), rounds=pick(args.rounds, 7, 1),
        repeat=pick(args.repeat, 3, 1), pairs=pick(args.pairs, 201, 3), accuracy_runs=pick(args.accuracy_runs, 5, 1),
        accuracy_deltas=5 if quick else 20, ttft=0.2, gap=0.02, scale_runs=pick(args.scale_runs, 1000, 20),
        scale_deltas=20, scale_ttft=0.1, scale_gap=0.005, export_interval_s=args.export_interval,
        hot_path_number=20_000 if quick else 200_000, resolution_values=2_000 if quick else 20_000,
        instruction_runs=pick(args.instruction_runs, 3, 1),
    )
    return settings, args


def progress(message: str) -> None:
    print(f"[benchmarks] {message}", file=sys.stderr, flush=True)


async def run_async(settings: Settings, results: dict[str, Any]) -> None:
    from benchmarks._collector import CollectorProcess
    from benchmarks._server import ServerProcess
    from benchmarks._telemetry import FullTelemetry

    wanted = set(settings.sections)
    with CollectorProcess() as collector:
        full = FullTelemetry(collector, settings.export_interval_s)
        try:
            if wanted & {"throughput", "cost"}:
                from benchmarks.throughput import run_throughput

                progress(f"throughput: {settings.deltas} deltas, {settings.rounds} rounds x {settings.repeat} runs")
                with ServerProcess(settings.deltas) as server:
                    results["throughput"] = await run_throughput(
                        server.base_url, full, deltas=settings.deltas, rounds=settings.rounds,
                        repeat=settings.repeat, pairs=settings.pairs, progress=progress)
            if "cost" in wanted:
                from benchmarks.telemetry_cost import measure_hot_path

                progress("cost: event() hot path (timeit)")
                results["hot_path"] = measure_hot_path(settings.hot_path_number)
            if "accuracy" in wanted:
                from benchmarks.accuracy import run_accuracy

                progress(f"accuracy: TTFT {settings.ttft * 1e3:.0f} ms, gap {settings.gap * 1e3:.0f} ms, "
                         f"{settings.accuracy_runs} runs per API")
                results["accuracy"] = await run_accuracy(
                    full, ttft=settings.ttft, gap=settings.gap, deltas=settings.accuracy_deltas,
                    runs=settings.accuracy_runs, progress=progress)
        finally:
            full.close()
        if "default" in wanted:
            from benchmarks.default_paths import run_default_paths

            progress(f"default telemetry: {settings.deltas} deltas, {settings.pairs} paired rounds per phase, "
                     "in a child process")
            results["default"] = run_default_paths(collector, deltas=settings.deltas, rounds=settings.pairs,
                                                   export_interval_s=settings.export_interval_s)
        if "resolution" in wanted:
            from benchmarks.resolution import run_resolution

            progress(f"resolution: log-normal workloads of {settings.resolution_values} values, exact vs /metrics")
            results["resolution"] = run_resolution(settings.resolution_values, progress=progress)
        if "instructions" in wanted:
            from benchmarks.instructions import run_instructions

            progress(f"instructions: {settings.instruction_runs} runs per phase under valgrind's callgrind "
                     "(about 1.5 minutes)")
            results["instructions"] = await asyncio.to_thread(
                run_instructions, deltas=settings.deltas, runs=settings.instruction_runs)
        if "scale" in wanted:
            from benchmarks.scale import run_scale

            progress(f"scale: {settings.scale_runs} concurrent streamed runs in a child process")
            results["scale"] = run_scale(collector, runs=settings.scale_runs, deltas=settings.scale_deltas,
                                         ttft=settings.scale_ttft, gap=settings.scale_gap)


def table(settings: Settings, results: dict[str, Any]) -> str:
    from benchmarks import _report

    throughput = results.get("throughput")
    rows = _report.throughput_rows(throughput)
    rows += _report.cost_rows(throughput, results.get("hot_path"))
    rows += _report.accuracy_rows(results.get("accuracy"))
    rows += _report.scale_rows(results.get("scale"))
    rows += _report.resolution_rows(results.get("resolution"))
    from benchmarks.default_paths import default_rows

    rows += default_rows(results.get("default"), throughput)
    rows += _report.instruction_rows(results.get("instructions"))
    return _report.render(rows)


def _json(value: Any) -> Any:
    to_json = getattr(value, "to_json", None)
    if to_json is not None:
        return to_json()
    return vars(value) if hasattr(value, "__dict__") else value


def main(argv: list[str] | None = None) -> int:
    settings, args = parse(argv)
    started = time.perf_counter()
    results: dict[str, Any] = {}
    asyncio.run(run_async(settings, results))
    elapsed = time.perf_counter() - started
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"`{command.strip()}` on {when}: Python {platform.python_version()}, {platform.machine()}, "
          f"{_cpus()} CPUs, {elapsed:.0f} s, {_helpers()}")
    print()
    print(table(settings, results))
    if args.json:
        payload = {"command": command.strip(), "date": when, "settings": vars(settings), "elapsed_s": elapsed,
                   "results": {name: _json(value) for name, value in results.items()}}
        with open(args.json, "w") as out:
            json.dump(payload, out, indent=2, default=str)
        progress(f"wrote {args.json}")
    return 0


def _helpers() -> str:
    from otelagents.telemetry import _compiled

    if _compiled.in_use():
        return "compiled helpers (otelagents._speedups)"
    why = "OTELAGENTS_NO_EXTENSIONS set" if _compiled.compiled_available() else "not built"
    return f"pure-Python helpers ({why})"


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


if __name__ == "__main__":
    sys.exit(main())
