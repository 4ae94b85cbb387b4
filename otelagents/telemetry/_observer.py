"""``Telemetry``: the run observer that turns runs into GenAI-convention spans and metrics.

One trace per run, shaped like this (all children of the caller's current span, if any)::

    invoke_workflow {workflow}            INTERNAL  the whole run
      invoke_agent {agent}                INTERNAL  one per agent segment (a handoff starts the next one)
        chat {model}                      CLIENT    one per model call
        execute_tool {tool}               INTERNAL  one per tool call (parallel calls are siblings)
        execute_tool transfer_to_{agent}  INTERNAL  a handoff
        run_guardrail {guardrail}         INTERNAL  one per guardrail check (see _guardrail_spans)
      invoke_agent {next agent}
        ...

An agent used as a tool runs a nested run inside the tool call: its ``invoke_agent`` spans are children
of that ``execute_tool`` span (no second ``invoke_workflow``). ``gen_ai.conversation.id`` (from
``RunInfo.conversation_id``, e.g. a session's id, else ``RunConfig.group_id``) is set on the workflow,
agent and model-call spans.

Handoffs. The GenAI conventions define no handoff span yet. We follow the open proposal
(semantic-conventions-genai PR #98): a handoff is the tool call the model made, so it is an
``execute_tool`` span named after the handoff tool (``transfer_to_<agent>``), under the agent that handed
off, with ``gen_ai.agent.handoff.source.name`` and ``gen_ai.agent.handoff.target.name``. The next agent's
``invoke_agent`` span is a sibling of the previous one under the run.

Current span. The run, agent and model-call spans are current in the run's task while they are open (so
spans that user hooks, instructions callables or an HTTP client instrumentation open there nest under
them); each tool span is current inside its own tool task, so spans a tool opens nest under
``execute_tool``. The consumer iterating ``stream_events()`` runs in its own task and never sees them.

Every span ends exactly once, child first and the root last, on every path: success, failure,
``cancel()`` (immediate or after the turn), a consumer that stops iterating, task cancellation. The run's
end also ends anything still open, defensively. Errors and content follow ``_spans`` and ``_content``.
"""

from __future__ import annotations

import logging
import threading
from time import perf_counter
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, TracerProvider, set_span_in_context

from otelagents import __version__
from otelagents._observing import remove_run_observer, set_telemetry_observer, telemetry_observer
from otelagents.agent import Agent
from otelagents.observer import (
    NOOP_RUN,
    AgentObservation,
    GuardrailInfo,
    GuardrailObservation,
    HandoffInfo,
    HandoffObservation,
    ModelCallInfo,
    ModelCallObservation,
    Outcome,
    RunInfo,
    RunObservation,
    RunObserver,
    ToolCallInfo,
    ToolObservation,
)
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._content import DEFAULT_MAX_LENGTH, capture_from_env
from otelagents.telemetry._guardrail_spans import GuardrailTelemetry
from otelagents.telemetry._instruments import AttrItems, Instruments, MetricsSink, with_error
from otelagents.telemetry._open_streams import open_streams_for
from otelagents.telemetry._providers import global_sink, sink_for
from otelagents.telemetry._run_latency import RunLatency
from otelagents.telemetry._spans import SpanStack, end_span, exemplar_of
from otelagents.telemetry._stream_stats import ModelCallTelemetry
from otelagents.telemetry._tool_spans import HandoffTelemetry, ToolTelemetry, active_tool

logger = logging.getLogger("otelagents.telemetry")


class UnfinishedOperation(Exception):
    """Set on a span that was still open when its run ended without failing (a bug, never expected)."""


class Telemetry(RunObserver):
    """Observes runs: spans through ``tracer_provider``, metrics into ``metrics`` or ``meter_provider``.

    ``tracer_provider``: default, the global one (a no-op until the application configures an SDK).
    ``metrics``: a ``MetricsEngine`` (the fast path ``setup()`` uses) or any object of the same shape.
    Default: ``meter_provider`` (default, the global one) gets the metrics. An SDK ``MeterProvider`` gets
    them aggregated by otelagents' engine, collected by each of its readers (one engine per provider, so
    every ``Telemetry`` on it counts a run once); another API implementation gets one API call per value
    (``OTelAPISink``); while the global provider is not set yet, values are dropped, as with the API's
    proxy, until it is.
    ``capture_content``: ``None`` follows the environment and ``RunConfig.trace_include_sensitive_data``;
    ``True`` always captures; ``False`` never does. ``content_max_length``: characters per content value.
    ``stall_threshold_s``: an output-chunk gap longer than this counts as a stall.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: Any = None,
        metrics: MetricsSink | None = None,
        *,
        capture_content: bool | None = None,
        content_max_length: int = DEFAULT_MAX_LENGTH,
        stall_threshold_s: float = 0.5,
    ) -> None:
        if not isinstance(content_max_length, int) or content_max_length < 16:
            raise ValueError(f"content_max_length must be an int of at least 16 characters, not {content_max_length!r}")
        if not stall_threshold_s > 0:
            raise ValueError(f"stall_threshold_s must be a positive number of seconds, not {stall_threshold_s!r}")
        if capture_content not in (None, True, False):
            raise ValueError(f"capture_content must be True, False or None (follow the environment), "
                             f"not {capture_content!r}")
        self.tracer = trace.get_tracer(sc.SCOPE_NAME, __version__, tracer_provider=tracer_provider)
        # Until the application sets a global meter provider, record into a placeholder and look again at
        # each run (as the API's proxy provider would): then switch to that provider's engine.
        self._follow_global_meter = False
        self.stall_threshold_s = float(stall_threshold_s)
        if metrics is None:
            metrics, self._follow_global_meter = (sink_for(meter_provider) if meter_provider is not None
                                                  else global_sink())
        self._use_sink(metrics)
        self.capture_content = capture_content
        self.content_max_length = content_max_length

    def _use_sink(self, metrics: MetricsSink) -> None:
        self.metrics = metrics
        self.instruments = Instruments(metrics)
        self.instruments.set_info(__version__)
        self.streams = open_streams_for(metrics)

    def run_started(self, run: RunInfo) -> RunObservation:
        if run.run_config.tracing_disabled:
            return NOOP_RUN
        if self._follow_global_meter:
            metrics, self._follow_global_meter = global_sink()
            if not self._follow_global_meter:
                self._use_sink(metrics)
        return RunTelemetry(self, run, self._capture(run))

    def _capture(self, run: RunInfo) -> bool:
        if self.capture_content is not None:
            return self.capture_content
        return bool(run.include_sensitive_data) or capture_from_env()

    def inject(self, carrier: dict[str, str], context: Context) -> None:
        """Write the propagation headers (W3C ``traceparent`` by default) for ``context`` into ``carrier``."""
        propagate.inject(carrier, context=context)


def _attr_value(value: Any) -> Any:
    return value if isinstance(value, (str, bool, int, float)) else str(value)


class RunTelemetry(RunObservation):
    """One run: the root span, the shared settings, and every child still open."""

    def __init__(self, telemetry: Telemetry, info: RunInfo, capture: bool) -> None:
        self.telemetry = telemetry
        self.tracer = telemetry.tracer
        self.instruments = telemetry.instruments
        self.capture = capture
        self.max_length = telemetry.content_max_length
        self.stall_threshold_s = telemetry.stall_threshold_s
        self.stack = SpanStack()
        self._open: dict[int, Any] = {}
        self._done = False
        self.input_tokens = self.output_tokens = 0
        self.has_usage = False
        config = info.run_config
        self.workflow_name = config.workflow_name
        self.conversation_id = info.conversation_id or config.group_id or None
        parent_tool = active_tool.get()
        # A run started inside a tool (an agent used as a tool) is part of that tool call: its agents
        # nest under the tool's execute_tool span, with no workflow span of its own.
        self.nested = parent_tool is not None and parent_tool.span.is_recording()
        if parent_tool is not None and self.nested:
            self.span: Span = parent_tool.span
            self.exemplar = parent_tool.exemplar
        else:
            attrs: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW,
                                     sc.GEN_AI_WORKFLOW_NAME: config.workflow_name}
            if self.conversation_id:
                attrs[sc.GEN_AI_CONVERSATION_ID] = self.conversation_id
            for key, value in (config.trace_metadata or {}).items():
                attrs[sc.OTELAGENTS_METADATA_PREFIX + str(key)] = _attr_value(value)
            self.span = self.tracer.start_span(f"{sc.OP_INVOKE_WORKFLOW} {config.workflow_name}",
                                               kind=SpanKind.INTERNAL, attributes=attrs)
            self.exemplar = exemplar_of(self.span)
            self.stack.push(self, self.span)
        self.started = perf_counter()
        self.latency = RunLatency(self.started)

    def track(self, observation: Any) -> None:
        self._open[id(observation)] = observation

    def untrack(self, observation: Any) -> None:
        self._open.pop(id(observation), None)

    def add_usage(self, input_tokens: int, output_tokens: int) -> None:
        self.has_usage = True
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens

    def consumer_left(self) -> None:
        if self.span.is_recording():
            self.span.set_attribute(sc.OTELAGENTS_CONSUMER_LEFT, True)

    def agent_started(self, agent: Agent[Any], turn: int) -> AgentObservation:
        return AgentTelemetry(self, agent)

    def ended(self, outcome: Outcome) -> None:
        if self._done:
            return
        self._done = True
        now = perf_counter()
        leftover = outcome if not outcome.ok else Outcome(error=UnfinishedOperation(
            "this operation had not ended when its run ended"))
        for observation in reversed(list(self._open.values())):  # newest (innermost) first
            observation.abandon(leftover)
        self._open.clear()
        self.stack.pop_all()
        if self.nested:  # the enclosing tool call owns the span and the durations
            return
        span = self.span
        if outcome.ok and outcome.output is not None:  # when no agent segment reported it (the SDK plugin)
            self.latency.final_output(now)
        latency = self.latency.attributes(now)
        if span.is_recording():
            attrs = dict(latency)  # the metrics below read the latency figures from ``latency``
            if self.has_usage:
                attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] = self.input_tokens
                attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = self.output_tokens
            span.set_attributes(attrs)
        error = end_span(span, outcome, capture=self.capture, max_length=self.max_length)
        base: AttrItems = ((sc.GEN_AI_OPERATION_NAME, sc.OP_INVOKE_WORKFLOW),
                           (sc.GEN_AI_WORKFLOW_NAME, self.workflow_name))
        self.latency.record(self.instruments, base, error, latency, self.exemplar)
        self.instruments.histogram(sc.METRIC_INVOKE_WORKFLOW_DURATION, with_error(base, error)).record(
            now - self.started, self.exemplar)
        if error is not None:
            self.instruments.counter(sc.METRIC_ERRORS, ((sc.GEN_AI_OPERATION_NAME, sc.OP_INVOKE_WORKFLOW),
                                                        (sc.ERROR_TYPE, error))).add(1, self.exemplar)


class AgentTelemetry(AgentObservation):
    """One agent segment: the ``invoke_agent`` span, parent of the segment's model calls and tools."""

    def __init__(self, run: RunTelemetry, agent: Agent[Any]) -> None:
        self.run = run
        self.agent = agent
        self.provider: str | None = None
        self.request_model: str | None = None
        self.input_tokens = self.output_tokens = 0
        self.has_usage = False
        self._done = False
        attrs: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: agent.name}
        if agent.handoff_description:
            attrs[sc.GEN_AI_AGENT_DESCRIPTION] = agent.handoff_description
        if run.conversation_id:
            attrs[sc.GEN_AI_CONVERSATION_ID] = run.conversation_id
        self.span: Span = run.tracer.start_span(f"{sc.OP_INVOKE_AGENT} {agent.name}",
                                                context=set_span_in_context(run.span),
                                                kind=SpanKind.INTERNAL, attributes=attrs)
        self.exemplar = exemplar_of(self.span)
        run.track(self)
        run.stack.push(self, self.span)
        self.started = perf_counter()

    def model_call_seen(self, call: ModelCallInfo) -> None:
        """The segment's first model call names its provider and model (set on the span when it ends)."""
        if self.provider is None:
            self.provider = call.model.provider_name
            self.request_model = call.model.request_model

    def add_usage(self, input_tokens: int, output_tokens: int) -> None:
        self.has_usage = True
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.run.add_usage(input_tokens, output_tokens)

    def model_call_started(self, call: ModelCallInfo) -> ModelCallObservation:
        return ModelCallTelemetry(self.run, self, call)

    def tool_started(self, call: ToolCallInfo) -> ToolObservation:
        return ToolTelemetry(self, call)

    def handoff_started(self, handoff: HandoffInfo) -> HandoffObservation:
        return HandoffTelemetry(self, handoff)

    def guardrail_started(self, guardrail: GuardrailInfo) -> GuardrailObservation:
        return GuardrailTelemetry(self, guardrail)

    def abandon(self, outcome: Outcome) -> None:
        self.ended(outcome)

    def ended(self, outcome: Outcome) -> None:
        if self._done:
            return
        self._done = True
        now = perf_counter()
        run, span = self.run, self.span
        run.stack.pop(self)
        run.untrack(self)
        if outcome.ok and outcome.output is not None:  # this agent answered: the run's final output
            run.latency.final_output(now)
        if (self.provider is not None or self.has_usage) and span.is_recording():  # one call into the SDK
            attrs: dict[str, Any] = {}
            if self.provider is not None:
                attrs[sc.GEN_AI_PROVIDER_NAME] = self.provider
                attrs[sc.GEN_AI_REQUEST_MODEL] = self.request_model
            if self.has_usage:
                attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] = self.input_tokens
                attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = self.output_tokens
            span.set_attributes(attrs)
        error = end_span(span, outcome, capture=run.capture, max_length=run.max_length)
        base: AttrItems = ((sc.GEN_AI_OPERATION_NAME, sc.OP_INVOKE_AGENT), (sc.GEN_AI_AGENT_NAME, self.agent.name))
        if self.provider is not None:
            base += ((sc.GEN_AI_PROVIDER_NAME, self.provider),)
        run.instruments.histogram(sc.METRIC_INVOKE_AGENT_DURATION, with_error(base, error)).record(
            now - self.started, self.exemplar)
        if error is not None:
            run.instruments.counter(sc.METRIC_ERRORS, ((sc.GEN_AI_OPERATION_NAME, sc.OP_INVOKE_AGENT),
                                                       (sc.GEN_AI_AGENT_NAME, self.agent.name),
                                                       (sc.ERROR_TYPE, error))).add(1, self.exemplar)


# --- global registration ------------------------------------------------------------------------------
# The process-wide telemetry observer lives in the run loop's telemetry slot (``otelagents._observing``):
# the default observer (``_default``) until ``instrument()`` or ``setup()`` puts a ``Telemetry`` there.

_lock = threading.Lock()


def instrument(**kwargs: Any) -> Telemetry:
    """Observe every run with a ``Telemetry(**kwargs)``, in place of the default; idempotent.

    A second call returns the first one. Uses the global tracer and meter providers unless given others
    (on the same SDK meter provider the default observer's metrics carry on: one engine per provider).
    Call ``uninstrument()`` first to change the settings.
    """
    with _lock:
        current = installed()
        if current is not None:
            if kwargs:
                logger.warning("otelagents.telemetry.instrument() was already called; the new arguments are "
                               "ignored. Call uninstrument() first to change them.")
            return current
        telemetry = Telemetry(**kwargs)
        set_telemetry_observer(telemetry)
        return telemetry


def install(telemetry: Telemetry) -> Telemetry:
    """Make ``telemetry`` the process-wide observer, replacing the default or an earlier one."""
    with _lock:
        set_telemetry_observer(telemetry)
        return telemetry


def uninstrument(telemetry: Telemetry | None = None) -> None:
    """Stop observing runs process-wide, the default observer included. Idempotent.

    With ``telemetry``: only if it is the registered one (it is also removed from ``add_run_observer``'s
    list if it was added there).
    """
    with _lock:
        if telemetry is not None:
            remove_run_observer(telemetry)
            if telemetry_observer() is not telemetry:
                return
        set_telemetry_observer(None)


def disable() -> None:
    """Turn otelagents' telemetry off for every run of this process (the default observer included).

    ``instrument()`` or ``setup()`` turn it on again. Per run: ``RunConfig(tracing_disabled=True)``;
    from the environment: ``OTEL_SDK_DISABLED=true`` or ``otelagents`` in
    ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS``.
    """
    uninstrument()


def installed() -> Telemetry | None:
    """The ``Telemetry`` registered by ``instrument()`` / ``setup()`` / ``install()``, if any."""
    current = telemetry_observer()
    return current if isinstance(current, Telemetry) else None
