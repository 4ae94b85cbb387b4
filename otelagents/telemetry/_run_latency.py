"""Run-level latency a user notices: first visible text, final output, model calls and tool time per run.

A model call's time to first token measures that call; in a run with tools or handoffs the first call's
first token is usually tool-call arguments, and the text the user reads starts calls later. ``RunLatency``
keeps, on the run's own clock (``perf_counter`` from the run's start):

* time to first text: the first ``response.output_text.delta`` or ``response.refusal.delta`` of any model
  call of the run (what a chat UI would start printing);
* time to final output: when the agent that answered ended its segment with the final output;
* model calls: how many the run made;
* tool time: wall-clock time with at least one tool running (parallel tools count once).

They go on the ``invoke_workflow`` span (``otelagents.run.*`` attributes) and into metrics of the same names.
"""

from __future__ import annotations

from typing import Any

from otelagents.telemetry import semconv as sc
from otelagents.telemetry._instruments import AttrItems, Instruments, with_error


class RunLatency:
    __slots__ = ("_tool_since", "_tools_running", "final_output_at", "first_text_at", "model_calls", "started",
                 "tool_time")

    def __init__(self, started: float) -> None:
        self.started = started
        self.first_text_at = 0.0
        self.final_output_at = 0.0
        self.model_calls = 0
        self.tool_time = 0.0
        self._tools_running = 0
        self._tool_since = 0.0

    def first_text(self, now: float) -> None:
        if not self.first_text_at:
            self.first_text_at = now

    def final_output(self, now: float) -> None:
        if not self.final_output_at:
            self.final_output_at = now

    def tool_started(self, now: float) -> None:
        if self._tools_running == 0:
            self._tool_since = now
        self._tools_running += 1

    def tool_ended(self, now: float) -> None:
        if self._tools_running <= 0:
            return
        self._tools_running -= 1
        if self._tools_running == 0:
            self.tool_time += now - self._tool_since

    def attributes(self, now: float) -> dict[str, Any]:
        """The ``otelagents.run.*`` span attributes (the figures a run reached; tools still running count to now)."""
        tool_time = self.tool_time + (now - self._tool_since if self._tools_running else 0.0)
        attrs: dict[str, Any] = {sc.OTELAGENTS_RUN_MODEL_CALLS: self.model_calls,
                                 sc.OTELAGENTS_RUN_TOOL_TIME: tool_time}
        if self.first_text_at:
            attrs[sc.OTELAGENTS_RUN_TIME_TO_FIRST_TEXT] = self.first_text_at - self.started
        if self.final_output_at:
            attrs[sc.OTELAGENTS_RUN_TIME_TO_FINAL_OUTPUT] = self.final_output_at - self.started
        return attrs

    def record(self, instruments: Instruments, base: AttrItems, error: str | None, attrs: dict[str, Any],
               exemplar: Any) -> None:
        first_text = attrs.get(sc.OTELAGENTS_RUN_TIME_TO_FIRST_TEXT)
        if first_text is not None:
            instruments.histogram(sc.METRIC_RUN_TIME_TO_FIRST_TEXT, base).record(first_text, exemplar)
        final = attrs.get(sc.OTELAGENTS_RUN_TIME_TO_FINAL_OUTPUT)
        if final is not None:
            instruments.histogram(sc.METRIC_RUN_TIME_TO_FINAL_OUTPUT, base).record(final, exemplar)
        with_type = with_error(base, error)
        instruments.histogram(sc.METRIC_RUN_MODEL_CALLS, with_type).record(self.model_calls, exemplar)
        instruments.histogram(sc.METRIC_RUN_TOOL_TIME, with_type).record(
            attrs[sc.OTELAGENTS_RUN_TOOL_TIME], exemplar)
