"""Default telemetry: what a run costs when the application never calls otelagents.

Global OpenTelemetry providers cannot be unset, so this section runs in a fresh child process
(``python -m benchmarks.default_paths``) in two phases, each measuring its variants in paired rounds of one
run each (``_pairs``: A B C, C B A, ...; same server, one long answer of ``--deltas`` deltas):

1. **no SDK configured**: ``default`` (the default observer, ``RunConfig()``) against ``disabled``
   (``RunConfig(tracing_disabled=True)``);
2. **application-owned SDK providers** (set the usual way: a global ``TracerProvider`` with a
   ``BatchSpanProcessor`` and an OTLP/gRPC span exporter, a global ``MeterProvider`` with a
   ``PeriodicExportingMetricReader`` over OTLP/gRPC, both to the collector process): ``app_default`` (the
   default observer; the provider's reader collects otelagents' engine), ``app_off``
   (``tracing_disabled=True``) and ``app_record`` (the previous path, one SDK ``record()`` per value:
   ``Telemetry(metrics=OTelAPISink(provider))``), for reference, and ``app_python``: the default observer
   with the pure-Python helpers, what an installation without a C compiler gets (``_compiled.use_compiled``
   switches them around its runs only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import subprocess
import sys
from typing import Any

from benchmarks._collector import CollectorProcess
from benchmarks._pairs import PairedResult, run_pairs
from benchmarks._server import ServerProcess
from benchmarks._stats import Sample, median
from benchmarks.throughput import ThroughputResult

NO_SDK = ("default", "disabled")
APP = ("app_default", "app_off", "app_python", "app_record")
LABELS = {
    "default": "otelagents, default telemetry, no SDK configured",
    "disabled": "otelagents, telemetry disabled (tracing_disabled=True)",
    "app_default": "otelagents, default telemetry, application's SDK providers",
    "app_off": "otelagents, application's SDK providers set, telemetry off",
    "app_python": "otelagents, pure-Python helpers, default telemetry over the application's SDK providers",
    "app_record": "otelagents, application's SDK providers, one SDK record() per value (previous path)",
}


def run_default_paths(collector: CollectorProcess, *, deltas: int, rounds: int, export_interval_s: float,
                      timeout_s: float = 900.0) -> PairedResult:
    """Run the child against a fresh server process; returns every variant's samples (``rounds`` each)."""
    with ServerProcess(deltas) as server:
        argv = [sys.executable, "-m", "benchmarks.default_paths", "--base-url", server.base_url,
                "--otlp", collector.grpc_endpoint, "--rounds", str(rounds),
                "--export-interval", str(export_interval_s)]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"the default-telemetry child did not finish within {timeout_s:.0f} s; "
                               "try fewer --pairs") from exc
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"the default-telemetry child failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    raw: dict[str, list[list[float]]] = json.loads(done.stdout.strip().splitlines()[-1])
    result = PairedResult(rounds=rounds)
    result.samples = {key: [Sample(int(e), s, c) for e, s, c in samples] for key, samples in raw.items()}
    return result


def default_rows(d: PairedResult | None, throughput: ThroughputResult | None,
                 why: str = "section not run") -> list[Any]:
    """Rows of section 6: each variant's events/s and the ratios the issue sets targets for, each the median
    of per-round ratios with its 95 % confidence interval."""
    from benchmarks._pairs import format_ratio
    from benchmarks._report import Row, _check, _num

    s = "6 default telemetry"
    rows = []
    for key in (*NO_SDK, *APP):
        value = _num(median([x.rate for x in d.samples[key]]), ",.0f") if d is not None and d.has(key) \
            else f"n/a ({why})"
        rows.append(Row(s, f"events/s, {LABELS[key]}", value))
    setup_pairs = throughput.pairs if throughput is not None else None
    ratios = [
        ("default with no SDK configured / disabled", d, "default", "disabled", False, ">= 0.98", 0.98),
        ("default with no SDK configured / disabled, events per CPU second", d, "default", "disabled", True, "", None),
        ("application's SDK providers: full / off", d, "app_default", "app_off", False, ">= 0.95", 0.95),
        ("application's SDK providers: full / off, events per CPU second", d, "app_default", "app_off", True,
         ">= 0.93", 0.93),
        ("application's SDK providers, pure-Python helpers (no C compiler): full / off", d, "app_python",
         "app_off", False, "", None),
        ("application's SDK providers, record() per value / off (previous path)", d, "app_record", "app_off",
         False, "", None),
        ("setup(): full / off (section 1's paired runs)", setup_pairs, "ours_full", "ours_off", False, ">= 0.95",
         0.95),
        ("setup(): full / off, events per CPU second (section 1's paired runs)", setup_pairs, "ours_full",
         "ours_off", True, ">= 0.93", 0.93),
    ]
    for name, result, a, b, by_cpu, target, bound in ratios:
        ratio = (math.nan,) * 3 if result is None else result.ratio(a, b, cpu=by_cpu)
        status = "" if bound is None else _check(ratio[0], ratio[0] >= bound)
        runs = f"{result.rounds} " if result is not None else ""
        rows.append(Row(s, f"ratio {name} (median of {runs}paired runs, 95% CI)", format_ratio(ratio), target,
                        status))
    return rows


# --- child side -----------------------------------------------------------------------------------------------
class PurePython:
    """A variant run with the pure-Python helpers (``run_pairs`` calls ``enter``/``exit`` around each run,
    outside its timing); every other variant runs with what was in use before."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.key, self.label = inner.key, inner.label
        self.compiled_before = False

    def enter(self) -> None:
        from otelagents.telemetry import _compiled

        self.compiled_before = _compiled.in_use()
        _compiled.use_compiled(False)

    def exit(self) -> None:
        from otelagents.telemetry import _compiled

        _compiled.use_compiled(self.compiled_before)

    async def run(self) -> int:
        return int(await self.inner.run())

    async def aclose(self) -> None:
        await self.inner.aclose()


def _set_app_providers(otlp: str, export_interval_s: float) -> Any:
    from opentelemetry import metrics, trace
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp, insecure=True)))
    trace.set_tracer_provider(tracer_provider)
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=otlp, insecure=True),
                                           export_interval_millis=export_interval_s * 1000)
    meter_provider = MeterProvider(metric_readers=[reader])
    metrics.set_meter_provider(meter_provider)
    return meter_provider


async def _child(base_url: str, otlp: str, rounds: int, export_interval_s: float) -> dict[str, Any]:
    from benchmarks._variants import Ours
    from otelagents.telemetry import OTelAPISink, Telemetry

    phase1 = {"default": Ours("default", LABELS["default"], base_url, [], tracing_disabled=False),
              "disabled": Ours("disabled", LABELS["disabled"], base_url, [], tracing_disabled=True)}
    samples = (await run_pairs(phase1, rounds)).samples
    meter_provider = _set_app_providers(otlp, export_interval_s)
    per_record = Telemetry(metrics=OTelAPISink(meter_provider))
    phase2: dict[str, Any] = {
        "app_default": Ours("app_default", LABELS["app_default"], base_url, [], tracing_disabled=False),
        "app_off": Ours("app_off", LABELS["app_off"], base_url, [], tracing_disabled=True),
        "app_python": PurePython(Ours("app_python", LABELS["app_python"], base_url, [], tracing_disabled=False)),
        "app_record": Ours("app_record", LABELS["app_record"], base_url, [per_record]),
    }
    samples.update((await run_pairs(phase2, rounds)).samples)
    for variant in (*phase1.values(), *phase2.values()):
        await variant.aclose()
    meter_provider.shutdown(timeout_millis=10_000)
    return {key: [[x.events, x.seconds, x.cpu_seconds] for x in runs] for key, runs in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Child process of the default-telemetry benchmark (one JSON line).")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--otlp", required=True, help="OTLP/gRPC endpoint of the collector")
    parser.add_argument("--rounds", type=int, default=201, help="paired rounds of one run per variant")
    parser.add_argument("--export-interval", type=float, default=5.0)
    args = parser.parse_args(argv)
    result = asyncio.run(_child(args.base_url, args.otlp, args.rounds, args.export_interval))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
