"""The SDK's span boundaries as observer calls: a ``TracingProcessor`` that opens no span of its own.

The processor sees the run's agents, function tools (MCP calls included), handoffs and guardrails, in the
task and context where the SDK starts and ends them (it never sees a stream event: model calls are
observed by ``_model``). Each boundary becomes the matching observer hook, so the spans and metrics come
from the same telemetry core as otelagents' runner.

Mapping (SDK span data -> observer):

* ``TaskSpanData`` (or the first ``AgentSpanData``) -> ``RunObserver.run_started``;
* ``AgentSpanData`` -> ``agent_started`` / ``AgentObservation.ended``; an agent that failed is ended
  by the run's end, with the run's own exception;
* ``FunctionSpanData`` -> ``tool_started`` with ``gen_ai.tool.type`` ``extension`` for MCP calls, made
  current in the tool's task (so an agent used as a tool nests under it). A tool error the SDK reported
  to the model as the tool's output is a handled error (``error.type=_OTHER``: the SDK keeps only the
  message);
* ``GuardrailSpanData`` -> ``guardrail_started`` (``triggered`` from the span data; the input/output kind
  comes from the wrapped guardrail runners);
* ``HandoffSpanData`` -> ``handoff_started`` when the target is known (at its end).

Every callback is isolated: an error is logged (raised under tests, which the SDK then logs as a
processor error) and the run goes on.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any, cast

from agents.tracing import TracingProcessor
from agents.tracing.span_data import (
    AgentSpanData,
    FunctionSpanData,
    GuardrailSpanData,
    HandoffSpanData,
    TaskSpanData,
)

from otelagents._observing import observer_failed
from otelagents.observer import OK, GuardrailInfo, HandoffInfo, Outcome, ToolCallInfo
from otelagents.telemetry import semconv as sc

from ._runs import RunRecord, ToolRef, current_run

# Set by the wrapped SDK internals around the code that opens the matching span.
tool_call_context: ContextVar[tuple[Any, Any] | None] = ContextVar("otelagents_sdk_tool_call", default=None)
guardrail_kind: ContextVar[str | None] = ContextVar("otelagents_sdk_guardrail_kind", default=None)
handoff_context: ContextVar[tuple[Any, Any] | None] = ContextVar("otelagents_sdk_handoff", default=None)

# error.type when the SDK kept only an error message (no exception class to name).
SDKError = type("_OTHER", (Exception,), {"__doc__": "An error the Agents SDK reported by message only."})

_NON_FATAL = "non-fatal"


class _FinalOutput:
    """Stands for an agent segment's final output (the SDK's agent span does not carry it)."""

    def __repr__(self) -> str:
        return "<final output>"


FINAL_OUTPUT = _FinalOutput()


def handoff_tool_name(agent_name: str) -> str:
    """The SDK's default handoff tool name for an agent (``transfer_to_<agent>``, function style)."""
    from agents.util._transforms import transform_string_function_style

    return transform_string_function_style(f"transfer_to_{agent_name}")


class ObservingProcessor(TracingProcessor):
    """Feeds the SDK's span boundaries to the run's observation. Inert once ``enabled`` is False."""

    def __init__(self) -> None:
        self.enabled = True

    def on_trace_start(self, trace: Any) -> None:
        return None

    def on_trace_end(self, trace: Any) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self) -> None:
        return None

    def on_span_start(self, span: Any) -> None:
        record = current_run.get()
        if not self.enabled or record is None or record.done:
            return
        try:
            _started(record, span)
        except Exception as exc:
            observer_failed("agents-sdk processor on_span_start", exc)

    def on_span_end(self, span: Any) -> None:
        record = current_run.get()
        if record is None or (record.done and span.span_id not in record.spans):
            return
        try:
            _ended(record, span)
        except Exception as exc:
            observer_failed("agents-sdk processor on_span_end", exc)


def _started(record: RunRecord, span: Any) -> None:
    data = span.span_data
    if isinstance(data, TaskSpanData):
        record.started()
    elif isinstance(data, AgentSpanData):
        record.start_agent(data.name)
    elif isinstance(data, FunctionSpanData):
        _tool_started(record, span, data)
    elif isinstance(data, GuardrailSpanData):
        agent = record.agent
        if agent is not None:
            info = GuardrailInfo(cast(Any, record.agent_ref(record.agent_name or "")), data.name,
                                 guardrail_kind.get() or "unknown")
            record.spans[span.span_id] = agent.guardrail_started(info)


def _tool_started(record: RunRecord, span: Any, data: Any) -> None:
    agent = record.agent
    if agent is None:
        return
    call_id, arguments, description, mcp = "", data.input or "", None, data.mcp_data is not None
    known = tool_call_context.get()
    if known is not None:
        func_tool, tool_call = known
        call_id = str(getattr(tool_call, "call_id", "") or "")
        arguments = str(getattr(tool_call, "arguments", "") or arguments)
        description = getattr(func_tool, "description", None)
        origin = getattr(getattr(func_tool, "_tool_origin", None), "type", None)  # the SDK marks MCP tools
        mcp = mcp or getattr(origin, "value", origin) == "mcp"
    tool_type = sc.TOOL_TYPE_EXTENSION if mcp else sc.TOOL_TYPE_FUNCTION
    info = ToolCallInfo(cast(Any, record.agent_ref(record.agent_name or "")),
                        cast(Any, ToolRef(data.name, description)), call_id, arguments, tool_type)
    observation = agent.tool_started(info)
    activation: Any = None
    try:
        activation = observation.activate()
        activation.__enter__()
    except Exception as exc:
        activation = None
        observer_failed("ToolObservation.activate", exc)
    record.spans[span.span_id] = (observation, activation)


def _cancelling(record: RunRecord) -> bool:
    """The SDK is ending this span because the run is being cancelled (``cancel()``, task cancellation)."""
    if record.cancelling:
        return True
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return False
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+
    return callable(cancelling) and int(cancelling()) > 0


def _ended(record: RunRecord, span: Any) -> None:
    data = span.span_data
    if isinstance(data, AgentSpanData):
        # A failed or cancelled agent is ended by the run's end, with the run's own error.
        if span.error is None and record.agent_name == data.name and not _cancelling(record):
            # An agent that did not hand off produced the run's final output (the runner reports it so).
            record.end_agent(OK if record.handed_off else Outcome(output=FINAL_OUTPUT))
    elif isinstance(data, FunctionSpanData):
        _tool_ended(record, span, data)
    elif isinstance(data, GuardrailSpanData):
        observation = record.spans.pop(span.span_id, None)
        if observation is not None:
            outcome = OK if span.error is None else Outcome(error=SDKError(str(span.error.get("message", ""))))
            observation.ended(outcome, bool(data.triggered))
    elif isinstance(data, HandoffSpanData):
        agent = record.agent
        if agent is not None and data.to_agent:
            source = data.from_agent or record.agent_name or ""
            handoff, tool_call = handoff_context.get() or (None, None)
            tool_name = getattr(handoff, "tool_name", None) or handoff_tool_name(data.to_agent)
            info = HandoffInfo(cast(Any, record.agent_ref(source)), cast(Any, record.agent_ref(data.to_agent)),
                               str(tool_name), str(getattr(tool_call, "call_id", "") or ""), handoff)
            agent.handoff_started(info).ended(OK)
            record.handed_off = True


def _tool_ended(record: RunRecord, span: Any, data: Any) -> None:
    entry = record.spans.pop(span.span_id, None)
    if entry is None:
        return
    observation, activation = entry
    if activation is not None:
        try:
            activation.__exit__(None, None, None)
        except Exception as exc:
            observer_failed("ToolObservation.activate (exit)", exc)
    if _cancelling(record) or record.done:
        return  # the run's end closes it as cancelled
    error = span.error
    if error is None:
        observation.ended(Outcome(output=data.output))
        return
    message = str(error.get("message", ""))
    if _NON_FATAL in message:
        observation.ended(Outcome(error=SDKError(message), handled=True))
    # A fatal tool error fails the run: the run's end closes the tool with the run's own exception.
