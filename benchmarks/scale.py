"""Scale: many concurrent streamed runs in one process, with full telemetry.

The runs go in a fresh child process (``python -m benchmarks.scale``), so its peak RSS is theirs alone and
no earlier section's state remains. The child starts full telemetry (``setup()`` exporting over OTLP/gRPC
to the collector process), makes one warm-up run, then starts ``runs`` ``Runner.run_streamed`` runs at once
through one shared ``AsyncOpenAI`` client and consumes all their event streams concurrently. Each run
carries ``trace_metadata={"bench_run": i}`` so the collector can tell its trace apart.

Reported: wall time of the concurrent runs, the most streams in flight at once, peak RSS (the kernel's
high-water mark, reset just before the runs) and memory per run ((peak RSS - RSS before the runs) /
runs), failed runs, and from the collector, after the child shut its telemetry down: spans and traces
exported for the runs (the warm-up run's trace left out), complete traces (root + agent + chat, all
ended) and whether there is exactly one trace per run. Beside the wall time: the same streams read with
raw httpx + json.loads through one shared client, in another child (what the HTTP stack alone costs at
this concurrency).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from benchmarks._collector import CollectorProcess
from benchmarks._server import ServerProcess
from benchmarks._variants import INSTRUCTIONS, MODEL, PROMPT, openai_client


@dataclass(frozen=True)
class ScaleResult:
    runs: int
    deltas: int
    wall_s: float
    floor_wall_s: float  # the same streams, raw httpx + json.loads through one client (nan: not measured)
    peak_in_flight: int
    failed: int
    events: int
    rss_before_mib: float
    peak_rss_mib: float
    spans: int
    traces: int
    complete: int
    one_trace_per_run: bool
    error: str  # the first failed run's exception, else ""

    @property
    def kib_per_run(self) -> float:
        return (self.peak_rss_mib - self.rss_before_mib) * 1024 / self.runs if self.runs else float("nan")

    def to_json(self) -> dict[str, Any]:
        return vars(self) | {"kib_per_run": self.kib_per_run}


def _run_child(args: list[str], runs: int, timeout_s: float) -> dict[str, Any]:
    argv = [sys.executable, "-m", "benchmarks.scale", *args, "--runs", str(runs)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"the scale run ({runs} concurrent runs) did not finish within {timeout_s:.0f} s; "
                           "try fewer with --scale-runs") from exc
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"the scale child process failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_scale(collector: CollectorProcess, *, runs: int, deltas: int, ttft: float, gap: float,
              floor: bool = True, timeout_s: float = 300.0) -> ScaleResult:
    """Run the child against a fresh server process; read the traces back from ``collector``. With
    ``floor``, first time the same streams read by raw httpx in another child."""
    collector.clear()
    with ServerProcess(deltas, ttft=ttft, gap=gap) as server:
        floor_s = _run_child(["--base-url", server.base_url, "--floor"], runs, timeout_s)["wall_s"] if floor \
            else float("nan")
        child = _run_child(["--base-url", server.base_url, "--otlp", collector.grpc_endpoint], runs, timeout_s)
    summary = collector.summary()
    return ScaleResult(
        runs=runs, deltas=deltas, wall_s=child["wall_s"], floor_wall_s=floor_s,
        peak_in_flight=child["peak_in_flight"],
        failed=child["failed"], events=child["events"], rss_before_mib=child["rss_before_mib"],
        peak_rss_mib=child["peak_rss_mib"], spans=summary["run_spans"], traces=summary["run_traces"],
        complete=summary["run_complete"], one_trace_per_run=summary["run_ids"] == list(range(runs)),
        error=child.get("error", ""),
    )


# --- child side -----------------------------------------------------------------------------------------------
def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0), so the peak is the runs' and not the imports'."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mib() -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux; the process's peak


async def _child(base_url: str, otlp: str, runs: int) -> dict[str, Any]:
    import otelagents
    from otelagents.models.openai_responses import OpenAIResponsesModel
    from otelagents.telemetry import setup

    handle = setup(service_name="otelagents-bench-scale", otlp_endpoint=otlp, otlp_protocol="grpc",
                   prometheus_port=0, metrics_interval_s=5.0, instrument=False)
    telemetry = handle.telemetry
    if telemetry is None:
        raise RuntimeError("otelagents.telemetry.setup() returned a no-op handle (is OTEL_SDK_DISABLED=true set?)")
    client = openai_client(base_url)
    agent: Any = otelagents.Agent(name="bench", instructions=INSTRUCTIONS, model=OpenAIResponsesModel(MODEL, client))
    in_flight = peak = 0

    async def one(i: int | None) -> int:
        nonlocal in_flight, peak
        metadata = {"bench_run": i} if i is not None else {"warm_up": True}
        config = otelagents.RunConfig(observers=[telemetry], trace_metadata=metadata)
        result = otelagents.Runner.run_streamed(agent, PROMPT, run_config=config)
        count, started = 0, False
        try:
            async for _event in result.stream_events():
                if not started:
                    started = True
                    in_flight += 1
                    peak = max(peak, in_flight)
                count += 1
        finally:
            if started:
                in_flight -= 1
        return count

    await one(None)
    gc.collect()
    _reset_peak_rss()
    rss_before = _rss_mib()
    start = time.perf_counter()
    outcomes = await asyncio.gather(*(one(i) for i in range(runs)), return_exceptions=True)
    wall = time.perf_counter() - start
    peak_rss = _peak_rss_mib()
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    await client.close()
    handle.shutdown(timeout_s=30.0)
    return {"wall_s": wall, "peak_in_flight": peak, "failed": len(failures),
            "events": sum(o for o in outcomes if isinstance(o, int)), "rss_before_mib": rss_before,
            "peak_rss_mib": peak_rss, "error": repr(failures[0]) if failures else ""}


async def _child_floor(base_url: str, runs: int) -> dict[str, Any]:
    """The same concurrent streams read with raw httpx + json.loads through one shared client (the openai
    client's connection limits): what the HTTP stack alone costs at this concurrency."""
    import httpx

    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=120.0, limits=limits) as client:
        body = {"model": MODEL, "input": PROMPT, "instructions": INSTRUCTIONS, "stream": True}

        async def one() -> int:
            count = 0
            async with client.stream("POST", base_url + "/responses", json=body) as response:
                response.raise_for_status()
                async for line in response.aiter_lines():
                    if line.startswith("data:"):
                        json.loads(line[5:])
                        count += 1
            return count

        await one()
        start = time.perf_counter()
        outcomes = await asyncio.gather(*(one() for _ in range(runs)), return_exceptions=True)
        wall = time.perf_counter() - start
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    return {"wall_s": wall, "failed": len(failures), "error": repr(failures[0]) if failures else ""}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Child process of the scale benchmark (prints one JSON line).")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--otlp", help="OTLP/gRPC endpoint of the collector (not needed with --floor)")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--floor", action="store_true", help="raw httpx streams instead of otelagents runs")
    args = parser.parse_args(argv)
    if args.floor:
        outcome = asyncio.run(_child_floor(args.base_url, args.runs))
    elif args.otlp:
        outcome = asyncio.run(_child(args.base_url, args.otlp, args.runs))
    else:
        parser.error("--otlp is required (or --floor)")
    print(json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
