"""Running one load level: N requests, at most C in flight, optionally released at R requests/s.

Each request is one agent run (``Runner.run_streamed``, every event consumed) with the telemetry observer
and a fresh :class:`~otelagents.profile._recorder.RequestObserver`. Its end-to-end latency runs from just
before the run starts (after it got a concurrency slot) to the end of its event stream; time waiting for a
slot is not counted. A failed request is recorded with its error type and the other requests go on.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from otelagents.observer import RunObserver
from otelagents.run import Runner

from ._recorder import RequestObserver, RunTiming
from ._workload import Client, Workload

_MESSAGE_CHARS = 300


@dataclass
class RequestRecord:
    """One request's raw figures (seconds; None when the request never got that far)."""

    index: int
    concurrency: int
    start_s: float  # since the level started
    e2e_s: float
    ttft_s: float | None  # first model call: request sent to first output delta
    ttfv_s: float | None  # run start to the first visible-text delta of the run (any model call)
    tpot_s: float | None  # decode time over the tokens after each call's first
    itl_s: list[float]  # every gap between consecutive output deltas of a model call
    output_tokens: int
    output_chunks: int
    model_calls: int
    error: str | None = None
    error_message: str | None = None
    trace_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "concurrency": self.concurrency, "start_s": self.start_s,
                "e2e_s": self.e2e_s, "ttft_s": self.ttft_s, "ttfv_s": self.ttfv_s, "tpot_s": self.tpot_s,
                "itl_s": self.itl_s, "output_tokens": self.output_tokens, "output_chunks": self.output_chunks,
                "model_calls": self.model_calls, "error": self.error, "error_message": self.error_message,
                "trace_id": self.trace_id}


def record_of(index: int, concurrency: int, started: float, level_start: float, ended: float, timing: RunTiming,
              error: BaseException | None) -> RequestRecord:
    calls = timing.calls
    ttft = calls[0].ttft if calls else None
    first_text = next((c.first_text for c in calls if c.first_text is not None), None)
    decode = [d for d in (c.decode() for c in calls) if d is not None]
    decode_s, decode_tokens = sum(d[0] for d in decode), sum(d[1] for d in decode)
    message = None
    if error is not None:
        message = (str(error).strip().splitlines() or [""])[0][:_MESSAGE_CHARS]
    return RequestRecord(
        index=index, concurrency=concurrency, start_s=started - level_start, e2e_s=ended - started,
        ttft_s=ttft, ttfv_s=first_text - started if first_text is not None else None,
        tpot_s=decode_s / decode_tokens if decode_tokens else None,
        itl_s=[gap for call in calls for gap in call.gaps()],
        output_tokens=sum(c.output_tokens if c.output_tokens else len(c.chunks) for c in calls),
        output_chunks=sum(len(c.chunks) for c in calls), model_calls=len(calls),
        error=type(error).__name__ if error is not None else None, error_message=message, trace_id=timing.trace_id,
    )


@dataclass
class LevelRun:
    """What one load level produced."""

    concurrency: int
    rate: float | None
    records: list[RequestRecord]
    duration_s: float


ARRIVALS = ("constant", "poisson")


def release_times(requests: int, rate: float, arrival: str = "constant", seed: int = 0) -> list[float]:
    """When each request is released (seconds after the level starts) at ``rate`` requests per second.

    ``constant``: every ``1 / rate`` seconds. ``poisson``: exponential gaps of mean ``1 / rate`` (the
    arrivals of independent users, as vLLM's ``bench serve`` draws them), from a seeded generator so that
    two profiles release at the same times. The first request goes at once."""
    if arrival not in ARRIVALS:
        raise ValueError(f"arrival must be one of {', '.join(ARRIVALS)}, not {arrival!r}")
    if arrival == "constant":
        return [index / rate for index in range(requests)]
    rng = random.Random(seed)
    times, now = [], 0.0
    for _ in range(requests):
        times.append(now)
        now += rng.expovariate(rate)
    return times


async def run_level(work: Workload, client: Client, observers: list[RunObserver], *, concurrency: int,
                    requests: int, rate: float | None = None, arrival: str = "constant", seed: int = 0,
                    on_done: Callable[[RequestRecord], None] | None = None) -> LevelRun:
    """Send ``requests`` requests, ``concurrency`` at a time; with ``rate``, request ``i`` is released no
    earlier than :func:`release_times` says. Returns the records in request order."""
    if concurrency < 1 or requests < 1:
        raise ValueError(f"concurrency and requests must be at least 1, not {concurrency} and {requests}")
    if rate is not None and not rate > 0:
        raise ValueError(f"rate must be a positive number of requests per second, not {rate!r}")
    schedule = release_times(requests, rate, arrival, seed) if rate is not None else None
    gate = asyncio.Semaphore(concurrency)
    records: list[RequestRecord | None] = [None] * requests
    level_start = perf_counter()

    async def one(index: int) -> None:
        if schedule is not None:
            await asyncio.sleep(max(level_start + schedule[index] - perf_counter(), 0.0))
        async with gate:
            recorder = RequestObserver()
            error: BaseException | None = None
            started = perf_counter()
            try:
                result = Runner.run_streamed(work.agent(), work.prompt(index),
                                             run_config=client.run_config(work, [*observers, recorder]))
                async for _ in result.stream_events():
                    pass
            except Exception as exc:  # noqa: BLE001 - recorded with its type; the other requests go on
                error = exc
            ended = perf_counter()
            record = record_of(index, concurrency, started, level_start, ended, recorder.timing, error)
            records[index] = record
            if on_done is not None:
                on_done(record)

    await asyncio.gather(*(one(i) for i in range(requests)))
    done = [r for r in records if r is not None]
    return LevelRun(concurrency, rate, done, perf_counter() - level_start)
