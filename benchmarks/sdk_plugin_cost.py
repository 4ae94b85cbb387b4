"""The Agents SDK plugin's own cost per streamed event, measured alone (CPU time, same process).

The throughput rows compare the SDK with and without the plugin end to end, but the SDK spends ~100 µs of
CPU per event and a shared machine moves that by more than the plugin's whole cost. Here the plugin's two
per-event layers run on their own, over prebuilt text-delta events with no I/O: the ``ObservedModel``
wrapper around a model's stream (the ``chat`` observation's hook included, full telemetry into a
``MetricsEngine``) and the consumer watch around ``stream_events()``. The figure is (the thread's CPU time
through the layers - reading the same events directly) per event, the median of ``repeat`` paired runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks._stats import median


def _events(count: int) -> list[Any]:
    from openai.types.responses import ResponseTextDeltaEvent

    return [ResponseTextDeltaEvent(type="response.output_text.delta", sequence_number=i, item_id="msg_1",
                                   output_index=0, content_index=0, delta="tok ", logprobs=[]) for i in range(count)]


def _model(events: list[Any]) -> Any:
    from agents.models.interface import Model

    class Replay(Model):
        model = "gpt-bench"

        async def get_response(self, *args: Any, **kwargs: Any) -> Any:  # not used
            raise NotImplementedError

        async def _replay(self) -> AsyncIterator[Any]:
            for event in events:
                yield event

        def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            return self._replay()

    return Replay()


async def _drain(stream: Any) -> int:
    count = 0
    async for _event in stream:
        count += 1
    return count


def _record() -> Any:
    from opentelemetry.sdk.trace import TracerProvider

    from otelagents.instrumentation.agents_sdk._runs import RunRecord
    from otelagents.telemetry import MetricsEngine, Telemetry

    telemetry = Telemetry(tracer_provider=TracerProvider(), metrics=MetricsEngine())
    record = RunRecord(telemetry, _model([]), "hi", None, True, 10, None)
    record.start_agent("bench")
    return record


class _Result:
    is_complete = False
    _stored_exception = None


async def _one(events: list[Any], observed: bool) -> float:
    from agents.models.interface import ModelTracing

    from otelagents.instrumentation.agents_sdk._model import ObservedModel
    from otelagents.instrumentation.agents_sdk._patches import _WatchedEvents
    from otelagents.observer import Outcome

    model = _model(events)
    args: tuple[Any, ...] = (None, "hi", _settings(), [], None, [], ModelTracing.DISABLED)
    kwargs: dict[str, Any] = {"previous_response_id": None, "conversation_id": None, "prompt": None}
    record = _record() if observed else None
    started = time.thread_time()
    if record is not None:
        stream = ObservedModel(model, None, record).stream_response(*args, **kwargs)
        await _drain(_WatchedEvents(stream, _Result(), record))
    else:
        await _drain(model.stream_response(*args, **kwargs))
    spent = time.thread_time() - started
    if record is not None:
        record.done = True  # the consumer watch's finalizer has nothing to report
        record.observation.ended(Outcome())
    return spent


def _settings() -> Any:
    from agents import ModelSettings

    return ModelSettings()


def measure_plugin_layers(events: int = 50_000, repeat: int = 7) -> float:
    """µs of CPU the plugin adds per streamed event (median of ``repeat`` paired runs)."""
    prebuilt = _events(events)
    costs = []
    # A thread of its own: the caller may be inside an event loop, and thread CPU time leaves out the
    # process's other threads (exporters).
    with ThreadPoolExecutor(1) as pool:
        for _ in range(repeat):
            base = pool.submit(asyncio.run, _one(prebuilt, observed=False)).result()
            with_plugin = pool.submit(asyncio.run, _one(prebuilt, observed=True)).result()
            costs.append((with_plugin - base) / events * 1e6)
    return median(costs)
