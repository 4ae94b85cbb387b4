"""Guardrail observations: one ``run_guardrail {name}`` span per guardrail check, under the agent.

The GenAI conventions define no guardrail span yet; the names follow the open proposal
(semantic-conventions-genai PR #427): operation ``run_guardrail``, kind INTERNAL, a child of what it
guards: the agent segment, or, for a tool guardrail (which carries the tool's ``gen_ai.tool.name``), the
tool's ``execute_tool`` span when it runs inside it. A tripwire that
fires is a failure of the guarded operation: status ERROR, ``error.type`` the tripwire exception's class
(when none is given, the name the SDKs give it, e.g. ``InputGuardrailTripwireTriggered``; for an unknown
kind ``tripwire_triggered``) and ``otelagents.guardrail.triggered=true``. A check that
passes ends OK with ``otelagents.guardrail.triggered=false``. Tripwires and guardrail failures are counted
in ``otelagents.errors`` with ``gen_ai.operation.name=run_guardrail``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Span, SpanKind, Status, StatusCode, set_span_in_context

from otelagents.observer import GuardrailInfo, GuardrailObservation, Outcome
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._spans import end_span, exemplar_of
from otelagents.telemetry._tool_spans import active_tool

if TYPE_CHECKING:
    from otelagents.telemetry._observer import AgentTelemetry


_TRIPWIRE_ERRORS = {
    "input": "InputGuardrailTripwireTriggered",
    "output": "OutputGuardrailTripwireTriggered",
    "tool_input": "ToolInputGuardrailTripwireTriggered",
    "tool_output": "ToolOutputGuardrailTripwireTriggered",
}


class GuardrailTelemetry(GuardrailObservation):
    def __init__(self, agent: AgentTelemetry, info: GuardrailInfo) -> None:
        self.agent = agent
        self.run = agent.run
        self.info = info
        self._done = False
        attrs: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_RUN_GUARDRAIL,
                                 sc.GEN_AI_AGENT_NAME: info.agent.name,
                                 sc.OTELAGENTS_GUARDRAIL_NAME: info.name,
                                 sc.OTELAGENTS_GUARDRAIL_KIND: info.kind}
        parent = agent.span
        if info.tool_name:
            attrs[sc.GEN_AI_TOOL_NAME] = info.tool_name
            tool = active_tool.get()  # a tool guardrail checked inside its tool's span nests under it
            if tool is not None and tool.run is self.run and tool.name == info.tool_name:
                parent = tool.span
        self.span: Span = self.run.tracer.start_span(f"{sc.OP_RUN_GUARDRAIL} {info.name}",
                                                     context=set_span_in_context(parent),
                                                     kind=SpanKind.INTERNAL, attributes=attrs)
        self.exemplar = exemplar_of(self.span)
        self.run.track(self)

    def abandon(self, outcome: Outcome) -> None:
        self.ended(outcome)

    def ended(self, outcome: Outcome, triggered: bool = False) -> None:
        if self._done:
            return
        self._done = True
        run, span = self.run, self.span
        run.untrack(self)
        if span.is_recording():
            span.set_attribute(sc.OTELAGENTS_GUARDRAIL_TRIGGERED, bool(triggered))
        error: str | None
        if triggered and outcome.ok:  # a tripwire with no exception to name: the SDKs' exception name
            error = _TRIPWIRE_ERRORS.get(self.info.kind, sc.ERROR_TYPE_TRIPWIRE)
            if span.is_recording():
                span.set_attribute(sc.ERROR_TYPE, error)
                span.set_status(Status(StatusCode.ERROR, error))
            span.end()
        else:
            error = end_span(span, outcome, capture=run.capture, max_length=run.max_length)
        if error is not None:
            run.instruments.counter(sc.METRIC_ERRORS, ((sc.GEN_AI_OPERATION_NAME, sc.OP_RUN_GUARDRAIL),
                                                       (sc.GEN_AI_AGENT_NAME, self.info.agent.name),
                                                       (sc.ERROR_TYPE, error))).add(1, self.exemplar)
