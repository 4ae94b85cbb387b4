"""Streamed events/s for one long answer, six readers side by side (see ``_variants``).

Method: one warm-up run of each variant, then ``rounds`` rounds; in each round every variant is measured
in turn, the order alternating between rounds (A B C D E, E D C B A, ...) so that being measured first or
right after the floor favours no variant; each measurement being ``repeat`` consecutive runs (events / wall time
of the whole runs, connection reuse included). A garbage collection precedes each measurement, outside the
timing. Figures are medians over the rounds; ratios are computed per round, then medianed, so a slow phase
of a noisy machine hits both sides of a ratio alike.

Then otelagents' two variants alone (telemetry off, full telemetry) run ``pairs`` paired rounds of one run
each (``_pairs``): the "full / off" ratios, whose targets are a few per cent, come from those; likewise the
SDK with and without otelagents' plugin, in a fifth as many rounds.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks._pairs import PairedResult, run_pairs
from benchmarks._stats import Sample, median, ratios
from benchmarks._telemetry import FullTelemetry
from benchmarks._variants import (
    OTEL_PACKAGE,
    SDK,
    SDK_PACKAGE,
    Floor,
    Ours,
    SDKInstrumentation,
    SDKPlugin,
    Variant,
    missing,
)

ORDER = ("floor", "ours_off", "ours_full", "sdk_off", "sdk_otel", "sdk_plugin")
LABELS = {
    "floor": "raw floor (httpx + json.loads)",
    "ours_off": "otelagents, telemetry off",
    "ours_full": "otelagents, full telemetry",
    "sdk_off": "openai-agents SDK, tracing off",
    "sdk_otel": "openai-agents SDK + OpenInference OTel",
    "sdk_plugin": "openai-agents SDK + otelagents plugin",
}


@dataclass
class ThroughputResult:
    deltas: int
    rounds: int
    repeat: int
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # variant key -> why it was not measured
    pairs: PairedResult | None = None  # ours_off / ours_full in paired single runs (the telemetry ratios)
    sdk_pairs: PairedResult | None = None  # sdk_off / sdk_plugin likewise (fewer rounds: SDK runs are slow)

    def has(self, *keys: str) -> bool:
        return all(self.samples.get(key) for key in keys)

    def rate(self, key: str) -> float:
        return median([s.rate for s in self.samples.get(key, [])])

    def events_per_run(self, key: str) -> float:
        samples = self.samples.get(key, [])
        return median([s.events / self.repeat for s in samples])

    def ratio(self, numerator: str, denominator: str) -> float:
        if not self.has(numerator, denominator):
            return float("nan")
        return median(ratios(self.samples[numerator], self.samples[denominator]))

    def cost_us_per_event(self, with_telemetry: str, without: str, *, cpu: bool = False) -> float:
        """Median over rounds of (µs per event with telemetry - µs per event without), in wall time or,
        with ``cpu``, in the process's CPU time (which the machine's other load barely touches)."""
        if not self.has(with_telemetry, without):
            return float("nan")
        pairs = zip(self.samples[with_telemetry], self.samples[without], strict=True)
        if cpu:
            return median([a.cpu_us_per_event - b.cpu_us_per_event for a, b in pairs])
        return median([a.us_per_event - b.us_per_event for a, b in pairs])

    def cpu_ratio(self, numerator: str, denominator: str) -> float:
        """Like ``ratio``, with events per CPU second of the benchmark process."""
        if not self.has(numerator, denominator):
            return float("nan")
        pairs = zip(self.samples[numerator], self.samples[denominator], strict=True)
        return median([b.cpu_us_per_event / a.cpu_us_per_event for a, b in pairs])

    def to_json(self) -> dict[str, Any]:
        return {
            "deltas": self.deltas, "rounds": self.rounds, "repeat": self.repeat, "skipped": self.skipped,
            "samples": {k: [{"events": s.events, "seconds": s.seconds, "cpu_seconds": s.cpu_seconds} for s in v]
                        for k, v in self.samples.items()},
            "events_per_s": {k: self.rate(k) for k in self.samples},
            "pairs": None if self.pairs is None else self.pairs.to_json(),
            "sdk_pairs": None if self.sdk_pairs is None else self.sdk_pairs.to_json(),
        }


def _variants(base_url: str, full: FullTelemetry, result: ThroughputResult) -> tuple[list[Variant], list[Any]]:
    """The variants that can run here, and what to close afterwards; records the others as skipped."""
    variants: list[Variant] = [
        Floor(base_url),
        Ours("ours_off", LABELS["ours_off"], base_url, []),
        Ours("ours_full", LABELS["ours_full"], base_url, [full.telemetry]),
    ]
    cleanups: list[Any] = []
    why = missing("agents")
    if why is not None:
        reason = f"openai-agents not importable: {why}; pip install '{SDK_PACKAGE}' (bench extra)"
        result.skipped["sdk_off"] = result.skipped["sdk_otel"] = result.skipped["sdk_plugin"] = reason
        return variants, cleanups
    variants.append(SDK("sdk_off", LABELS["sdk_off"], base_url, tracing=False))
    variants.append(SDKPlugin("sdk_plugin", LABELS["sdk_plugin"], base_url, full.telemetry))
    why = missing("openinference.instrumentation.openai_agents")
    if why is not None:
        result.skipped["sdk_otel"] = f"OpenInference not importable: {why}; pip install '{OTEL_PACKAGE}' (bench extra)"
        return variants, cleanups
    try:
        cleanups.append(SDKInstrumentation(full.tracer_provider))
    except Exception as exc:  # noqa: BLE001 - a broken optional dependency skips its row, with the reason
        result.skipped["sdk_otel"] = f"instrumentation failed: {exc!r}"
        return variants, cleanups
    variants.append(SDK("sdk_otel", LABELS["sdk_otel"], base_url, tracing=True))
    return variants, cleanups


async def _measure(variant: Variant, repeat: int) -> Sample:
    gc.collect()
    events = 0
    _enter(variant)
    try:
        cpu, start = time.process_time(), time.perf_counter()
        for _ in range(repeat):
            events += await variant.run()
        return Sample(events, time.perf_counter() - start, time.process_time() - cpu)
    finally:
        _exit(variant)


def _enter(variant: Variant) -> None:
    """Switch on what only this variant uses (the SDK plugin), outside the timing."""
    enter = getattr(variant, "enter", None)
    if enter is not None:
        enter()


def _exit(variant: Variant) -> None:
    exit_ = getattr(variant, "exit", None)
    if exit_ is not None:
        exit_()


async def _warm_up(variant: Variant) -> None:
    _enter(variant)
    try:
        await variant.run()  # imports, connection, first-use caches
    finally:
        _exit(variant)


def sdk_pair_rounds(pairs: int) -> int:
    """Paired rounds for the SDK plugin's ratio: a fifth of ours (an SDK run takes ~10x as long), at least 3."""
    return max(3, pairs // 5)


async def run_throughput(base_url: str, full: FullTelemetry, *, deltas: int, rounds: int, repeat: int,
                         pairs: int = 0, progress: Any = None) -> ThroughputResult:
    """Measure every available variant against the server at ``base_url`` (streaming ``deltas`` deltas)."""
    result = ThroughputResult(deltas=deltas, rounds=rounds, repeat=repeat)
    variants, cleanups = _variants(base_url, full, result)
    try:
        for variant in variants:
            await _warm_up(variant)
            result.samples[variant.key] = []
        for round_number in range(rounds):
            for variant in (variants if round_number % 2 == 0 else variants[::-1]):
                result.samples[variant.key].append(await _measure(variant, repeat))
            if progress is not None:
                rates = ", ".join(f"{v.key} {result.samples[v.key][-1].rate:,.0f}" for v in variants)
                progress(f"throughput round {round_number + 1}/{rounds}: {rates} events/s")
        if pairs:
            ours = {v.key: v for v in variants if v.key in ("ours_off", "ours_full")}
            result.pairs = await run_pairs(ours, pairs, progress=progress)
            sdk = {v.key: v for v in variants if v.key in ("sdk_off", "sdk_plugin")}
            if len(sdk) == 2:
                result.sdk_pairs = await run_pairs(sdk, sdk_pair_rounds(pairs), progress=progress)
    finally:
        for variant in variants:
            await variant.aclose()
        for cleanup in cleanups:
            cleanup.close()
    return result
