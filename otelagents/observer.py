"""The run-lifecycle observer: how telemetry (or anything else) sees a run without living in the loop.

The run loop calls these hooks; it never imports OpenTelemetry. Each level hands out the next level's
observation object, so an implementation keeps its state (spans, timers) on the objects it returns
instead of in lookup tables. Every method has a no-op default, so an observer overrides only what it
needs, and the default observer costs one method call per hook.

Hooks are called from the run's task. ``ModelCallObservation.event`` is called for every streamed
event and is the hot path: keep it to a timestamp and a comparison, or offer the caller an ``EventTimer``
(``ModelCallObservation.event_timer``) so that the events that only need a timestamp cost no call at all.
The loop isolates observers: an exception raised by a hook is logged and the run goes on (under pytest it
is re-raised, see ``otelagents._observing``).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .agent import Agent
    from .handoffs import Handoff
    from .items import ModelResponse
    from .model_settings import ModelSettings
    from .models.interface import ModelInfo
    from .run_config import RunConfig
    from .tool import FunctionTool, Tool
    from .usage import Usage


@dataclass(frozen=True)
class RunInfo:
    starting_agent: Agent[Any]
    input: Any
    run_config: RunConfig
    max_turns: int | None
    streamed: bool
    include_sensitive_data: bool
    # The conversation this run continues (a session's id, a server-side conversation): becomes
    # ``gen_ai.conversation.id``. None when the run has none (``RunConfig.group_id`` is the fallback).
    conversation_id: str | None = None


@dataclass(frozen=True)
class ModelCallInfo:
    agent: Agent[Any]
    model: ModelInfo
    turn: int
    system_instructions: str | None
    input: list[Any]
    settings: ModelSettings
    tools: list[Tool]
    handoffs: list[Handoff]
    output_type: str | None
    # False for a non-streaming request (an SDK ``get_response``): no stream events, no streaming latencies.
    stream: bool = True


@dataclass(frozen=True)
class ToolCallInfo:
    agent: Agent[Any]
    tool: FunctionTool
    call_id: str
    arguments: str
    # ``gen_ai.tool.type``: "function" (runs in the application), "extension" (an MCP server or a hosted
    # tool that acts outside the application) or "datastore" (a hosted retrieval tool).
    tool_type: str = "function"


@dataclass(frozen=True)
class GuardrailInfo:
    """One guardrail check: ``kind`` is "input", "output", "tool_input" or "tool_output".

    ``tool_name`` names the guarded tool for the tool guardrails."""

    agent: Agent[Any]
    name: str
    kind: str
    tool_name: str | None = None


@dataclass(frozen=True)
class HandoffInfo:
    from_agent: Agent[Any]
    to_agent: Agent[Any]
    tool_name: str
    call_id: str
    handoff: Handoff | None = None


@dataclass(frozen=True)
class Outcome:
    """How a run, an agent segment, a model call or a tool call ended.

    ``error`` is set when it failed. ``cancelled`` is set when it was cut short by ``cancel()``, a
    consumer that stopped iterating, or task cancellation; then ``error`` may hold the
    ``CancelledError``. ``handled`` marks a tool error that was reported to the model as the tool's
    output (the run went on).
    """

    error: BaseException | None = None
    cancelled: bool = False
    handled: bool = False
    output: Any = None
    usage: Usage | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.cancelled


OK = Outcome()


class TimeLog(Protocol):
    """Where the ``perf_counter()`` readings of an ``EventTimer`` go: a list, an ``array('d')``, ..."""

    def append(self, time: float, /) -> None: ...


@dataclass(frozen=True)
class EventTimer:
    """An observation's fast path for the events it only timestamps (see ``ModelCallObservation.event_timer``).

    For an event whose type is in ``types`` at that moment, a caller that knows the fast path appends
    ``time.perf_counter()`` to ``times`` instead of calling ``event()``; it calls ``event()`` for every other
    event. ``types`` is read at every event, so ``event()`` may add types to it as the stream goes (e.g.
    once it has seen the first event). A caller that does not know the fast path calls ``event()`` for every
    event: ``event()`` must do for a type in ``types`` exactly what the fast path does. ``times`` only needs
    ``append`` (otelagents' own telemetry keeps C doubles there, not a list of floats).
    """

    types: AbstractSet[str]
    times: TimeLog


class ModelCallObservation:
    def request_headers(self) -> Mapping[str, str]:
        """Headers to add to the model's HTTP request (e.g. a W3C ``traceparent``)."""
        return {}

    def request_sent(self) -> None:
        """The adapter is handing the request to the HTTP transport (called again for each retry).

        Streaming latencies (time to first chunk and token) are best measured from the last call, so they
        exclude the client's own request building; adapters without a transport never call it."""

    def event(self, event: Any) -> None:
        """Called for every streamed model event, in order. The hot path."""

    def event_timer(self) -> EventTimer | None:
        """The fast path for the events this observation only timestamps, or None (the default: every event
        goes to ``event()``). Asked once per call, before the first event."""
        return None

    def ended(self, response: ModelResponse | None, outcome: Outcome) -> None:
        """The call finished: ``response`` is set on success."""


class ToolObservation:
    def activate(self) -> AbstractContextManager[Any]:
        """A context manager entered around the tool's execution (e.g. making its span current)."""
        return nullcontext()

    def ended(self, outcome: Outcome) -> None:
        """The tool finished; ``outcome.output`` is its return value when it succeeded."""


class HandoffObservation:
    def ended(self, outcome: Outcome) -> None: ...


class GuardrailObservation:
    def ended(self, outcome: Outcome, triggered: bool = False) -> None:
        """The check finished. ``triggered``: its tripwire fired (the run is stopped, or the tool call
        rejected); ``outcome.error`` is set when the guardrail itself failed (or holds the tripwire's
        exception)."""


class AgentObservation:
    def model_call_started(self, call: ModelCallInfo) -> ModelCallObservation:
        return NOOP_MODEL_CALL

    def tool_started(self, call: ToolCallInfo) -> ToolObservation:
        return NOOP_TOOL

    def handoff_started(self, handoff: HandoffInfo) -> HandoffObservation:
        return NOOP_HANDOFF

    def guardrail_started(self, guardrail: GuardrailInfo) -> GuardrailObservation:
        """A guardrail of this agent starts (input guardrails may run while the first model call streams)."""
        return NOOP_GUARDRAIL

    def ended(self, outcome: Outcome) -> None:
        """The agent's segment ended: final output, handoff to another agent, or failure."""


class RunObservation:
    def agent_started(self, agent: Agent[Any], turn: int) -> AgentObservation:
        return NOOP_AGENT

    def consumer_left(self) -> None:
        """The consumer stopped reading the run's events before the run completed, and the run goes on (the
        Agents SDK keeps a streamed run going when its consumer leaves). Called at most once, before ``ended``."""

    def ended(self, outcome: Outcome) -> None:
        """The run ended (after the last event was queued)."""


class RunObserver:
    """Subclass and override ``run_started`` to observe runs. The base class observes nothing."""

    def run_started(self, run: RunInfo) -> RunObservation:
        return NOOP_RUN


NOOP_MODEL_CALL = ModelCallObservation()
NOOP_TOOL = ToolObservation()
NOOP_HANDOFF = HandoffObservation()
NOOP_GUARDRAIL = GuardrailObservation()
NOOP_AGENT = AgentObservation()
NOOP_RUN = RunObservation()
