"""Measurement accuracy: what telemetry records against what the server did.

The server waits ``ttft`` before the first delta and ``gap`` between deltas, writing each delta in its own
HTTP chunk, and notes when it received each request and when it wrote each delta (``GET /_timings``, in
``perf_counter`` seconds). Truth, per run: time to first token = first delta written - request received;
mean gap = (last delta written - first delta written) / (deltas - 1). Recorded, per run, read back from
the ``MetricsEngine`` of full telemetry (the difference of two snapshots around the run):
``otelagents.client.time_to_first_token`` (its sum; one value per call) and
``gen_ai.client.operation.time_per_output_chunk`` (sum / count of the run's gaps).

The absolute errors are reported as median and max over the runs of both APIs (Responses and Chat
Completions), after one warm-up run per API (a process's first call spends hundreds of milliseconds
building ``openai`` event validators while its first deltas wait in the socket: that is real latency for
the application, not a measurement error, so it is kept out of these figures). When the server cannot
report send times, the configured delays stand in for the truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchmarks._server import ServerProcess
from benchmarks._stats import median
from benchmarks._telemetry import FullTelemetry
from benchmarks._variants import Ours

APIS = ("responses", "chat_completions")


@dataclass(frozen=True)
class RunTiming:
    api: str
    truth_ttft: float
    recorded_ttft: float
    truth_gap: float
    recorded_gap: float
    truth_source: str  # "server send times" or "configured delays"

    @property
    def ttft_error(self) -> float:
        return abs(self.recorded_ttft - self.truth_ttft)

    @property
    def gap_error(self) -> float:
        return abs(self.recorded_gap - self.truth_gap)


@dataclass
class AccuracyResult:
    ttft: float
    gap: float
    deltas: int
    runs: list[RunTiming] = field(default_factory=list)

    def errors_ms(self, which: str) -> tuple[float, float]:
        """(median, max) absolute error in ms of ``"ttft"`` or ``"gap"`` over every run."""
        values = [(r.ttft_error if which == "ttft" else r.gap_error) * 1e3 for r in self.runs]
        return median(values), max(values, default=float("nan"))

    @property
    def truth_source(self) -> str:
        return ", ".join(sorted({r.truth_source for r in self.runs}))

    def to_json(self) -> dict[str, Any]:
        return {"ttft_s": self.ttft, "gap_s": self.gap, "deltas": self.deltas, "truth": self.truth_source,
                "runs": [vars(r) | {"ttft_error": r.ttft_error, "gap_error": r.gap_error} for r in self.runs]}


def _totals(engine: Any, name: str) -> tuple[int, float]:
    """(count, sum) of the histogram ``name`` over all its series."""
    count, total = 0, 0.0
    for snapshot in engine.collect():
        if snapshot.name == name:
            for point in snapshot.points:
                count += point.count
                total += point.sum
    return count, total


async def run_accuracy(full: FullTelemetry, *, ttft: float, gap: float, deltas: int, runs: int,
                       progress: Any = None) -> AccuracyResult:
    from otelagents.telemetry import semconv as sc

    result = AccuracyResult(ttft=ttft, gap=gap, deltas=deltas)
    engine = full.engine
    with ServerProcess(deltas, ttft=ttft, gap=gap) as server:
        for api in APIS:
            variant = Ours(f"accuracy_{api}", api, server.base_url, [full.telemetry], api=api)
            try:
                await variant.run()  # warm-up: a process's first call also builds the event validators
                for _ in range(runs):
                    server.timings()  # forget anything earlier
                    ttft_before = _totals(engine, sc.METRIC_TIME_TO_FIRST_TOKEN)
                    gaps_before = _totals(engine, sc.METRIC_TIME_PER_OUTPUT_CHUNK)
                    await variant.run()
                    ttft_after = _totals(engine, sc.METRIC_TIME_TO_FIRST_TOKEN)
                    gaps_after = _totals(engine, sc.METRIC_TIME_PER_OUTPUT_CHUNK)
                    calls, gap_count = ttft_after[0] - ttft_before[0], gaps_after[0] - gaps_before[0]
                    if calls != 1 or gap_count != deltas - 1:
                        raise RuntimeError(f"accuracy ({api}): expected 1 time-to-first-token value and "
                                           f"{deltas - 1} gaps for one run, recorded {calls} and {gap_count}")
                    recorded_ttft = ttft_after[1] - ttft_before[1]
                    recorded_gap = (gaps_after[1] - gaps_before[1]) / gap_count
                    result.runs.append(_with_truth(api, server.timings(), ttft, gap, deltas, recorded_ttft,
                                                   recorded_gap))
            finally:
                await variant.aclose()
            if progress is not None:
                done = [r for r in result.runs if r.api == api]
                progress(f"accuracy {api}: ttft error " + ", ".join(f"{r.ttft_error * 1e3:.2f}" for r in done)
                         + " ms")
    return result


def _with_truth(api: str, timings: list[dict[str, Any]] | None, ttft: float, gap: float, deltas: int,
                recorded_ttft: float, recorded_gap: float) -> RunTiming:
    if timings and len(timings) == 1 and len(timings[0]["deltas"]) == deltas:
        sent = timings[0]["deltas"]
        return RunTiming(api, sent[0] - timings[0]["received"], recorded_ttft,
                         (sent[-1] - sent[0]) / (deltas - 1), recorded_gap, "server send times")
    return RunTiming(api, ttft, recorded_ttft, gap, recorded_gap, "configured delays")
