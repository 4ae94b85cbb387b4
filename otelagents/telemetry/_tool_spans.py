"""Tool and handoff observations: ``execute_tool`` spans under the agent, made current inside the tool's task.

A handoff is reported as the tool call the model made (``execute_tool transfer_to_<agent>``, following
semantic-conventions-genai PR #98) with the handoff source and target agent names; see ``_observer``.
"""

from __future__ import annotations

from contextvars import ContextVar
from time import perf_counter
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry.trace import Span, SpanKind, set_span_in_context

from otelagents.observer import HandoffInfo, HandoffObservation, Outcome, ToolCallInfo, ToolObservation
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._content import cut_text, tool_result_text
from otelagents.telemetry._instruments import AttrItems, with_error
from otelagents.telemetry._spans import end_span, exemplar_of

if TYPE_CHECKING:
    from otelagents.telemetry._observer import AgentTelemetry


# The tool span current in this task (inside ``ToolObservation.activate``): a run started there (an agent
# used as a tool) nests its agents under it instead of opening a workflow of its own.
active_tool: ContextVar[_ToolSpan | None] = ContextVar("otelagents_active_tool", default=None)


class _Activation:
    """Makes a span current for a ``with`` block (attach and detach in the same task and context)."""

    __slots__ = ("_owner", "_span", "_token", "_tool_token")

    def __init__(self, span: Span, owner: _ToolSpan | None = None) -> None:
        self._span = span
        self._owner = owner
        self._token: Any = None
        self._tool_token: Any = None

    def __enter__(self) -> Span:
        self._token = otel_context.attach(set_span_in_context(self._span))
        self._tool_token = active_tool.set(self._owner)
        return self._span

    def __exit__(self, *exc_info: object) -> None:
        token, self._token = self._token, None
        tool_token, self._tool_token = self._tool_token, None
        if tool_token is not None:
            try:
                active_tool.reset(tool_token)
            except ValueError:  # exited in another context: that context keeps its own value
                pass
        if token is not None:
            otel_context.detach(token)


class _ToolSpan:
    """Shared by tool calls and handoffs: an ``execute_tool`` span under the agent, and its metrics."""

    def __init__(self, agent: AgentTelemetry, name: str, call_id: str, description: str | None,
                 extra: dict[str, Any], tool_type: str = sc.TOOL_TYPE_FUNCTION) -> None:
        self.agent = agent
        self.run = agent.run
        self.name = name
        self.tool_type = tool_type
        self._done = False
        attrs: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: name,
                                 sc.GEN_AI_TOOL_TYPE: tool_type}
        if call_id:  # left out when unknown
            attrs[sc.GEN_AI_TOOL_CALL_ID] = call_id
        if description:
            attrs[sc.GEN_AI_TOOL_DESCRIPTION] = description
        attrs.update(extra)
        self.span: Span = self.run.tracer.start_span(f"{sc.OP_EXECUTE_TOOL} {name}",
                                                     context=set_span_in_context(agent.span),
                                                     kind=SpanKind.INTERNAL, attributes=attrs)
        self.exemplar = exemplar_of(self.span)
        self.started = perf_counter()

    def finish(self, outcome: Outcome) -> str | None:
        """End the span and record the duration; returns the error type. Idempotent (None when repeated)."""
        if self._done:
            return None
        self._done = True
        now = perf_counter()
        run = self.run
        error = end_span(self.span, outcome, capture=run.capture, max_length=run.max_length)
        agent_name = self.agent.agent.name
        base: AttrItems = ((sc.GEN_AI_OPERATION_NAME, sc.OP_EXECUTE_TOOL), (sc.GEN_AI_TOOL_NAME, self.name),
                           (sc.GEN_AI_TOOL_TYPE, self.tool_type), (sc.GEN_AI_AGENT_NAME, agent_name))
        run.instruments.histogram(sc.METRIC_EXECUTE_TOOL_DURATION, with_error(base, error)).record(
            now - self.started, self.exemplar)
        if error is not None:
            run.instruments.counter(sc.METRIC_ERRORS, ((sc.GEN_AI_OPERATION_NAME, sc.OP_EXECUTE_TOOL),
                                                       (sc.GEN_AI_AGENT_NAME, agent_name),
                                                       (sc.ERROR_TYPE, error))).add(1, self.exemplar)
        return error


class ToolTelemetry(ToolObservation):
    def __init__(self, agent: AgentTelemetry, call: ToolCallInfo) -> None:
        run = agent.run
        extra: dict[str, Any] = {}
        if run.capture:
            extra[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = cut_text(call.arguments or "", run.max_length)
        self._tool = _ToolSpan(agent, call.tool.name, call.call_id, call.tool.description, extra,
                               call.tool_type or sc.TOOL_TYPE_FUNCTION)
        run.track(self)
        run.latency.tool_started(self._tool.started)

    def activate(self) -> _Activation:
        return _Activation(self._tool.span, self._tool)

    def abandon(self, outcome: Outcome) -> None:
        self.ended(outcome)

    def ended(self, outcome: Outcome) -> None:
        tool = self._tool
        tool.run.untrack(self)
        if not tool._done:
            tool.run.latency.tool_ended(perf_counter())
        if tool.run.capture and not tool._done and outcome.output is not None and tool.span.is_recording():
            tool.span.set_attribute(sc.GEN_AI_TOOL_CALL_RESULT,
                                    cut_text(tool_result_text(outcome.output), tool.run.max_length))
        tool.finish(outcome)


class HandoffTelemetry(HandoffObservation):
    def __init__(self, agent: AgentTelemetry, info: HandoffInfo) -> None:
        self._source, self._target = info.from_agent.name, info.to_agent.name
        extra = {sc.GEN_AI_AGENT_HANDOFF_SOURCE_NAME: self._source,
                 sc.GEN_AI_AGENT_HANDOFF_TARGET_NAME: self._target}
        description = info.handoff.tool_description if info.handoff is not None else None
        self._tool = _ToolSpan(agent, info.tool_name, info.call_id, description, extra)
        agent.run.track(self)

    def abandon(self, outcome: Outcome) -> None:
        self.ended(outcome)

    def ended(self, outcome: Outcome) -> None:
        tool = self._tool
        tool.run.untrack(self)
        if not tool._done:
            tool.run.latency.tool_ended(perf_counter())
        already = tool._done
        error = tool.finish(outcome)
        if not already and error is None:
            tool.run.instruments.counter(sc.METRIC_HANDOFFS, (
                (sc.GEN_AI_AGENT_HANDOFF_SOURCE_NAME, self._source),
                (sc.GEN_AI_AGENT_HANDOFF_TARGET_NAME, self._target))).add(1, tool.exemplar)
