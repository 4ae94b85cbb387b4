"""A whole profile: every load level in turn, then the results on disk.

The telemetry observer(s) are passed in, so the same runs show up in traces, on ``/metrics`` and over
OTLP as any application's runs do; the profiler's own figures come from its per-request recorder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from otelagents.exceptions import UserError
from otelagents.observer import RunObserver

from ._driver import ARRIVALS, LevelRun, RequestRecord, run_level
from ._results import RESULTS_FILE, Profile, build_document, level_summary, write
from ._terminal import Progress, runs_table
from ._workload import Client, Endpoint, Workload


@dataclass(frozen=True)
class ProfileOptions:
    """What to profile and how hard. ``concurrency``: one load level per entry, in order."""

    workload: Workload
    endpoint: Endpoint = field(default_factory=Endpoint)
    concurrency: Sequence[int] = (1,)
    requests: int = 16
    rate: float | None = None
    arrival: str = "constant"  # with ``rate``: "constant" or "poisson" (seeded by ``seed``)
    seed: int = 0
    slo: dict[str, float] | None = None
    warmup: int = 1
    output: Path | None = None
    scenario_label: str = ""

    def __post_init__(self) -> None:
        if not self.concurrency or any(c < 1 for c in self.concurrency):
            raise UserError(f"concurrency needs one or more levels of at least 1, not {list(self.concurrency)}")
        if self.requests < 1:
            raise UserError(f"requests must be at least 1, not {self.requests}")
        if self.rate is not None and not self.rate > 0:
            raise UserError(f"rate must be a positive number of requests per second, not {self.rate}")
        if self.arrival not in ARRIVALS:
            raise UserError(f"arrival must be one of {', '.join(ARRIVALS)}, not {self.arrival!r}")
        if self.warmup < 0:
            raise UserError(f"warmup must be 0 or more requests, not {self.warmup}")


async def profile(options: ProfileOptions, observers: list[RunObserver], out: TextIO, err: TextIO) -> Profile:
    """Run every load level, print the table, write ``results.json`` and ``requests.jsonl`` to ``output``.

    Interrupted (Ctrl-C, task cancellation), it still writes the levels that finished, marked
    ``"interrupted": true``, before the cancellation goes on: an hour of profiling is not lost to a
    keystroke."""
    client = Client(options.endpoint)
    levels: list[LevelRun] = []
    try:
        if options.warmup:
            # Not recorded and not observed: first connections and imports stay out of the figures.
            await run_level(options.workload, client, [], concurrency=1, requests=options.warmup)
        for concurrency in options.concurrency:
            progress = Progress(options.requests, err, label=f"concurrency {concurrency:>3}")
            levels.append(await run_level(options.workload, client, observers, concurrency=concurrency,
                                          requests=options.requests, rate=options.rate,
                                          arrival=options.arrival, seed=options.seed,
                                          on_done=_advance(progress)))
    except asyncio.CancelledError:
        if levels and options.output is not None:
            write(options.output, assemble(options, levels, interrupted=True))
            err.write(f"\ninterrupted: the {len(levels)} finished load level(s) are in "
                      f"{options.output / RESULTS_FILE}\n")
            err.flush()
        raise
    finally:
        await client.close()
    result = assemble(options, levels)
    for line in runs_table(result.runs):
        out.write(line + "\n")
    out.flush()
    if options.output is not None:
        write(options.output, result)
    return result


def _advance(progress: Progress) -> Callable[[RequestRecord], None]:
    def done(record: RequestRecord) -> None:
        progress.advance(not record.ok)

    return done


def assemble(options: ProfileOptions, levels: Sequence[LevelRun], *, interrupted: bool = False) -> Profile:
    endpoint = options.endpoint
    target = {"base_url": endpoint.base_url, "model": endpoint.model, "api": endpoint.api,
              "scenario": options.scenario_label or options.workload.name}
    settings = {"concurrency": list(options.concurrency), "rate": options.rate, "arrival": options.arrival,
                "seed": options.seed, "requests": options.requests,
                "max_tokens": endpoint.max_tokens, "slo": options.slo, "warmup": options.warmup}
    runs = [level_summary(level, options.slo) for level in levels]
    records = [record.as_json() for level in levels for record in level.records]
    document = build_document(target, settings, runs)
    if interrupted:
        document["interrupted"] = True
    return Profile(document, records)
