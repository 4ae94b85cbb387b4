"""Per-request timing from the run observer: a timestamp for every output chunk of every model call.

Each profiled request (one agent run) gets its own :class:`RequestObserver`, listed after the telemetry
observer in ``RunConfig.observers``: while the run's spans are current it notes the trace id, and for each
model call it keeps when the request left, when each output-bearing delta arrived (the same deltas the
telemetry counts as output chunks) and the output tokens from the call's usage. The hot path is one
``perf_counter()`` call and one append per event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from otelagents.agent import Agent
from otelagents.items import ModelResponse
from otelagents.observer import (
    AgentObservation,
    ModelCallInfo,
    ModelCallObservation,
    Outcome,
    RunInfo,
    RunObservation,
    RunObserver,
)
from otelagents.telemetry._current import current_trace_id
from otelagents.telemetry._stream_stats import OUTPUT_DELTAS

TEXT_DELTA = "response.output_text.delta"


@dataclass
class CallTiming:
    """One model call, on the ``perf_counter`` clock (seconds)."""

    started: float
    sent: float | None = None  # the last ``request_sent`` (a retry resends)
    chunks: list[float] = field(default_factory=list)  # every output delta's arrival
    first_text: float | None = None  # the first visible-text delta's arrival
    output_tokens: int | None = None  # from the call's usage, when the stream carried it
    error: str | None = None

    @property
    def origin(self) -> float:
        return self.sent if self.sent is not None else self.started

    @property
    def ttft(self) -> float | None:
        return self.chunks[0] - self.origin if self.chunks else None

    def gaps(self) -> list[float]:
        chunks = self.chunks
        return [later - earlier for earlier, later in zip(chunks, chunks[1:], strict=False)]

    def decode(self) -> tuple[float, int] | None:
        """(time from the first to the last output chunk, tokens after the first), when both are known."""
        tokens = self.output_tokens if self.output_tokens else len(self.chunks)
        if len(self.chunks) < 2 or tokens < 2:
            return None
        return self.chunks[-1] - self.chunks[0], tokens - 1


@dataclass
class RunTiming:
    """Everything one request's observer saw."""

    calls: list[CallTiming] = field(default_factory=list)
    trace_id: str | None = None

    def note_trace(self) -> None:
        if self.trace_id is None:
            self.trace_id = current_trace_id()


class RequestObserver(RunObserver):
    """Observes the one run it is passed to (a fresh instance per request)."""

    def __init__(self) -> None:
        self.timing = RunTiming()

    def run_started(self, run: RunInfo) -> RunObservation:
        self.timing.note_trace()
        return _RunRecorder(self.timing)


class _RunRecorder(RunObservation):
    def __init__(self, timing: RunTiming) -> None:
        self.timing = timing

    def agent_started(self, agent: Agent[Any], turn: int) -> AgentObservation:
        self.timing.note_trace()
        return _AgentRecorder(self.timing)


class _AgentRecorder(AgentObservation):
    def __init__(self, timing: RunTiming) -> None:
        self.timing = timing

    def model_call_started(self, call: ModelCallInfo) -> ModelCallObservation:
        self.timing.note_trace()
        timing = CallTiming(started=perf_counter())
        self.timing.calls.append(timing)
        return _CallRecorder(timing)


class _CallRecorder(ModelCallObservation):
    def __init__(self, timing: CallTiming) -> None:
        self.timing = timing
        self._chunks = timing.chunks

    def request_sent(self) -> None:
        self.timing.sent = perf_counter()
        self._chunks.clear()  # a retried request starts over
        self.timing.first_text = None

    def event(self, event: Any) -> None:
        kind = event.type
        if kind in OUTPUT_DELTAS:
            now = perf_counter()
            self._chunks.append(now)
            if kind == TEXT_DELTA and self.timing.first_text is None:
                self.timing.first_text = now

    def ended(self, response: ModelResponse | None, outcome: Outcome) -> None:
        if response is not None and response.usage.output_tokens:
            self.timing.output_tokens = response.usage.output_tokens
        if not outcome.ok:
            self.timing.error = "cancelled" if outcome.cancelled else type(outcome.error).__name__
