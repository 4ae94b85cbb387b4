"""Telemetry cost per streamed chunk.

Two figures:

* from the throughput rounds: (µs per event with full telemetry - µs per event with telemetry off), per
  round, medianed: everything telemetry costs a run (spans, per-event hook, metrics at the end, the export
  threads competing for the interpreter), spread over its events;
* the hot path alone, with ``timeit``: the run loop's step for a text delta that a real ``chat``
  observation's ``EventTimer`` takes (a set look-up and ``perf_counter()`` appended, no call), and its
  ``event()`` (what a caller without the timer pays), next to the no-op observation's ``event()`` that
  the loop calls when telemetry is off;
* the Agents SDK plugin's per-event layers alone (``sdk_plugin_cost``), when openai-agents is installed.
"""

from __future__ import annotations

import timeit
from dataclasses import dataclass
from typing import Any

from benchmarks._stats import median


@dataclass(frozen=True)
class HotPathCost:
    event_us: float  # Telemetry's chat observation's event(), per text delta (callers without the timer)
    noop_us: float  # the no-op observation's event() (telemetry off)
    number: int
    repeat: int
    plugin_us: float | None = None  # the Agents SDK plugin's per-event layers (None: openai-agents missing)
    timer_us: float = float("nan")  # the run loop's step for a delta the observation's EventTimer takes


def _delta_event() -> Any:
    from openai.types.responses import ResponseTextDeltaEvent

    return ResponseTextDeltaEvent(type="response.output_text.delta", sequence_number=5, item_id="msg_1",
                                  output_index=0, content_index=0, delta="tok ", logprobs=[])


def _chat_observation() -> tuple[Any, Any]:
    """A real ``chat`` observation from ``Telemetry`` (and the run observation, to end it afterwards)."""
    from opentelemetry.sdk.trace import TracerProvider

    import otelagents
    from otelagents.model_settings import ModelSettings
    from otelagents.models.interface import ModelInfo
    from otelagents.observer import ModelCallInfo, RunInfo
    from otelagents.telemetry import MetricsEngine, Telemetry

    telemetry = Telemetry(tracer_provider=TracerProvider(), metrics=MetricsEngine())
    agent: Any = otelagents.Agent(name="bench")
    run = telemetry.run_started(RunInfo(starting_agent=agent, input="hi", run_config=otelagents.RunConfig(),
                                        max_turns=10, streamed=True, include_sensitive_data=False))
    agent_obs = run.agent_started(agent, 1)
    call = ModelCallInfo(agent=agent, model=ModelInfo("gpt-bench", "openai", "responses", "127.0.0.1", 8000),
                         turn=1, system_instructions=None, input=[], settings=ModelSettings(), tools=[],
                         handoffs=[], output_type=None)
    return agent_obs.model_call_started(call), run


def measure_hot_path(number: int = 200_000, repeat: int = 7) -> HotPathCost:
    """Median µs per ``event()`` call over ``repeat`` runs of ``number`` calls (a fresh observation each
    run, so the list of delta timestamps does not grow past ``number``)."""
    from otelagents.observer import NOOP_MODEL_CALL, Outcome

    event = _delta_event()
    noop = NOOP_MODEL_CALL.event
    noop_times = timeit.repeat(lambda: noop(event), number=number, repeat=repeat)
    times, timer_times = [], []
    for _ in range(repeat):
        observation, run = _chat_observation()
        hook = observation.event
        times.append(timeit.timeit(lambda: hook(event), number=number))  # noqa: B023 - used at once
        observation.ended(None, Outcome())
        run.ended(Outcome())
        timer_times.append(_timer_step(event, number))
    plugin_us = None
    if _importable("agents"):
        from benchmarks.sdk_plugin_cost import measure_plugin_layers

        plugin_us = measure_plugin_layers(max(number // 4, 5_000), repeat)
    return HotPathCost(event_us=median(times) / number * 1e6, noop_us=median(noop_times) / number * 1e6,
                       number=number, repeat=repeat, plugin_us=plugin_us,
                       timer_us=median(timer_times) / number * 1e6)


def _timer_step(event: Any, number: int) -> float:
    """Seconds for ``number`` of the run loop's steps for a text delta (``otelagents._model_call``): the
    event type looked up in the observation's ``EventTimer`` and ``perf_counter()`` appended, no call into
    the observation. Timed like the ``event()`` rows: one ``lambda`` call per step, as ``noop(event)`` pays."""
    from time import perf_counter

    from otelagents.observer import Outcome

    observation, run = _chat_observation()
    observation.event(event)  # the first text delta arms the timer for the text deltas that follow
    timer = observation.event_timer()
    assert timer is not None and event.type in timer.types, "Telemetry's chat observation offers no timer"
    timed, stamp, kind = timer.types, timer.times.append, event.type
    seconds = timeit.timeit(lambda: stamp(perf_counter()) if kind in timed else None, number=number)
    observation.ended(None, Outcome())
    run.ended(Outcome())
    return seconds


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
