"""Instructions per run, counted by valgrind's callgrind: the telemetry's cost as a figure no load can move.

Wall time and CPU time both swing with whatever else the machine runs; the number of instructions a run
executes does not (the same code on the same input executes the same instructions, give or take how the
kernel split the stream into reads). This section runs a child process under ``valgrind --tool=callgrind``
(the model server stays outside it) that streams the same ``--deltas`` answer in four phases of ``runs`` runs
each, separated by a call to ``zlib.crc32`` on which callgrind dumps its counters
(``--dump-before=zlib_crc32``):

1. ``off``: the application's SDK providers set, ``RunConfig(tracing_disabled=True)``;
2. ``app_default``: the default observer over those providers (section 6's ``app_default``);
3. ``setup``: a ``Telemetry`` as ``setup()`` builds it (SDK ``TracerProvider`` with a ``BatchSpanProcessor``,
   ``MetricsEngine``), passed per run;
4. ``off`` again, to show the count's drift from one phase to the next.

Exporters are left out on purpose (the span exporter discards, the metric reader is never collected):
their work is periodic in wall time, and under valgrind a phase lasts ~50x longer, so they would be counted
~50x over. The count covers every thread of the process (the span processor's included).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import glob
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from typing import Any

from benchmarks._server import ServerProcess

PHASES = ("off", "app_default", "setup", "off_again")
LABELS = {
    "off": "application's SDK providers, telemetry off",
    "app_default": "default telemetry over the application's SDK providers",
    "setup": "setup()'s Telemetry (exporters left out)",
    "off_again": "telemetry off, measured again last",
}
_SUMMARY = re.compile(r"^(?:summary|totals):\s*(\d+)", re.MULTILINE)


@dataclass
class InstructionsResult:
    deltas: int
    runs: int
    per_run: dict[str, float] = field(default_factory=dict)  # phase -> instructions per run
    skipped: str = ""  # why the section could not run

    def off(self) -> float:
        return (self.per_run["off"] + self.per_run["off_again"]) / 2

    def ratio(self, phase: str) -> float:
        """Instructions per run with telemetry off / with ``phase``: the "full / off" throughput it predicts."""
        return self.off() / self.per_run[phase]

    def drift(self) -> float:
        """How far the two "off" phases differ, relative to their mean (the count's own noise)."""
        return abs(self.per_run["off"] - self.per_run["off_again"]) / self.off()

    def to_json(self) -> dict[str, Any]:
        return {"deltas": self.deltas, "runs": self.runs, "per_run": self.per_run, "skipped": self.skipped}


def run_instructions(*, deltas: int, runs: int, timeout_s: float = 1800.0) -> InstructionsResult:
    """Count each phase's instructions per run; ``skipped`` says why when valgrind is missing or fails."""
    result = InstructionsResult(deltas=deltas, runs=runs)
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        result.skipped = "valgrind not installed (apt-get install valgrind)"
        return result
    with tempfile.TemporaryDirectory(prefix="otelagents-callgrind-") as folder, ServerProcess(deltas) as server:
        argv = [valgrind, "--tool=callgrind", "--dump-before=zlib_crc32",
                f"--callgrind-out-file={os.path.join(folder, 'cg.out')}", sys.executable, "-m",
                "benchmarks.instructions", "--base-url", server.base_url, "--runs", str(runs)]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            result.skipped = f"the callgrind child did not finish within {timeout_s:.0f} s"
            return result
        if done.returncode != 0:
            result.skipped = f"the callgrind child failed (exit {done.returncode}): {done.stderr[-500:]!r}"
            return result
        counts = _phase_counts(folder)
    if len(counts) != len(PHASES) + 2:  # start-up before the first marker, the exit after the last
        result.skipped = (f"callgrind wrote {len(counts)} dumps, not {len(PHASES) + 2}: this Python's zlib module "
                          "may lack the zlib_crc32 symbol the phases are separated on")
        return result
    result.per_run = {phase: count / runs for phase, count in zip(PHASES, counts[1:-1], strict=True)}
    return result


def _phase_counts(folder: str) -> list[int]:
    """Each dump's instruction total, in the order callgrind wrote them: ``cg.out.1``, ``cg.out.2``, ...,
    then ``cg.out`` (what was left at exit)."""
    def order(path: str) -> float:
        suffix = path.rsplit("cg.out", 1)[1]
        return int(suffix[1:]) if suffix else math.inf

    counts = []
    for path in sorted(glob.glob(os.path.join(folder, "cg.out*")), key=order):
        with open(path) as dump:
            match = _SUMMARY.search(dump.read())
        if match is not None:
            counts.append(int(match.group(1)))
    return counts


# --- child side (runs under callgrind) ----------------------------------------------------------------------
def _marker() -> None:
    gc.collect()  # every phase starts from the same collector state
    zlib.crc32(b"phase")  # callgrind dumps its counters here (--dump-before=zlib_crc32)


async def _child(base_url: str, runs: int) -> None:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from benchmarks._variants import Ours
    from otelagents.telemetry import MetricsEngine, Telemetry

    class Discard(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    def tracer_provider() -> TracerProvider:
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(Discard()))
        return provider

    trace.set_tracer_provider(tracer_provider())
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    setup_like = Telemetry(tracer_provider=tracer_provider(), metrics=MetricsEngine())
    off = Ours("off", LABELS["off"], base_url, [], tracing_disabled=True)
    variants = {"off": off, "app_default": Ours("app_default", LABELS["app_default"], base_url, [],
                                                 tracing_disabled=False),
                "setup": Ours("setup", LABELS["setup"], base_url, [setup_like]), "off_again": off}
    for variant in variants.values():
        for _ in range(2):
            await variant.run()  # warm-up: imports, connections, first-use caches
    gc.collect()
    gc.freeze()
    for phase in PHASES:
        _marker()
        for _ in range(runs):
            await variants[phase].run()
    _marker()
    for key in ("off", "app_default", "setup"):
        await variants[key].aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Child process of the instruction-count benchmark; run it "
                                                 "under valgrind --tool=callgrind --dump-before=zlib_crc32.")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    asyncio.run(_child(args.base_url, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
