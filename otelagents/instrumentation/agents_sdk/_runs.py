"""One SDK run as the observer interface sees it: the run's observation, its current agent segment, and
the observations opened for the SDK's spans.

The runner wrappers (``_patches``) create a ``RunRecord`` per ``Runner.run`` / ``run_streamed`` call and
put it in ``current_run`` around the SDK's own call, so the run's task and every task it starts (tools,
guardrails, model-stream attempts) find it; a run started inside a tool (an agent used as a tool) sets
its own record in that tool's context. The run observation starts lazily at the run's first SDK span,
inside the run's own task, so the spans it makes current never leak into the caller's context.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

from otelagents._observing import safe_call
from otelagents.observer import (
    NOOP_AGENT,
    NOOP_RUN,
    AgentObservation,
    Outcome,
    RunInfo,
    RunObservation,
    RunObserver,
)

current_run: ContextVar[RunRecord | None] = ContextVar("otelagents_agents_sdk_run", default=None)


@dataclass(frozen=True)
class AgentRef:
    """What telemetry needs of an agent: the SDK's span data carries only its name."""

    name: str
    handoff_description: str | None = None


@dataclass(frozen=True)
class ToolRef:
    name: str
    description: str | None = None


def _agents_by_name(agent: Any, limit: int = 64) -> dict[str, Any]:
    """The starting agent and the agents reachable through its handoffs (bounded walk)."""
    found: dict[str, Any] = {}
    pending = [agent]
    while pending and len(found) < limit:
        current = pending.pop()
        name = getattr(current, "name", None)
        if not isinstance(name, str) or name in found:
            continue
        found[name] = current
        for handoff in getattr(current, "handoffs", None) or []:
            target = getattr(handoff, "agent", handoff)  # an Agent, or a Handoff (no agent object)
            if getattr(target, "name", None) is not None and hasattr(target, "handoffs"):
                pending.append(target)
    return found


class RunRecord:
    """One SDK run: lazily started run observation, the current agent segment, open span observations."""

    def __init__(self, observer: RunObserver, starting_agent: Any, input: Any, run_config: Any,
                 streamed: bool, max_turns: int | None, conversation_id: str | None) -> None:
        self.observer = observer
        self.starting_agent = starting_agent
        self.input = input
        self.run_config = run_config
        self.streamed = streamed
        self.max_turns = max_turns
        self.conversation_id = conversation_id
        self.observation: RunObservation | None = None
        self.agent: AgentObservation | None = None
        self.agent_name: str | None = None
        self.handed_off = False  # the current agent segment ended in a handoff
        self.turn = 0
        self.spans: dict[str, Any] = {}  # SDK span id -> what we opened for it
        self.consumer_left = False
        self.cancelling = False  # cancel() was called (immediate)
        self.done = False
        self._agents: dict[str, Any] | None = None

    def agent_ref(self, name: str) -> AgentRef:
        if self._agents is None:
            self._agents = _agents_by_name(self.starting_agent)
        agent = self._agents.get(name)
        description = getattr(agent, "handoff_description", None)
        return AgentRef(name, description if isinstance(description, str) else None)

    def learn_agent(self, agent: Any) -> None:
        name = getattr(agent, "name", None)
        if isinstance(name, str):
            if self._agents is None:
                self._agents = _agents_by_name(self.starting_agent)
            self._agents.setdefault(name, agent)

    def started(self) -> RunObservation:
        """The run's observation, started on first use (in the run's own task)."""
        if self.observation is None:
            self.observation = NOOP_RUN
            if self.done:
                return NOOP_RUN
            config = self.run_config
            info = RunInfo(
                starting_agent=cast(Any, self.agent_ref(getattr(self.starting_agent, "name", "agent"))),
                input=self.input, run_config=cast(Any, _RunConfigView(config)), max_turns=self.max_turns,
                # The SDK's trace_include_sensitive_data defaults to True (for its own backend); content
                # capture stays off unless asked for (capture_content=True or the environment).
                streamed=self.streamed, include_sensitive_data=False,
                conversation_id=self.conversation_id,
            )
            self.observation = safe_call("RunObserver.run_started", self.observer.run_started, NOOP_RUN, info)
        return self.observation

    def start_agent(self, name: str) -> AgentObservation:
        self.end_agent(Outcome())
        run = self.started()
        self.agent = safe_call("agent_started", run.agent_started, NOOP_AGENT, self.agent_ref(name), self.turn)
        self.agent_name = name
        self.handed_off = False
        return self.agent

    def end_agent(self, outcome: Outcome) -> None:
        agent, self.agent = self.agent, None
        if agent is not None:
            safe_call("AgentObservation.ended", agent.ended, None, outcome)

    def mark_consumer_left(self) -> None:
        """The consumer stopped reading the stream; the SDK keeps running, so the run goes on."""
        if self.consumer_left or self.done:
            return
        self.consumer_left = True
        if self.observation is not None:
            safe_call("RunObservation.consumer_left", self.observation.consumer_left, None)

    def end(self, outcome: Outcome) -> None:
        """The run really ended: end its agent segment (failures: with the run's own error) and the run."""
        if self.done:
            return
        self.done = True
        if self.observation is None:
            return  # no SDK span was ever seen (tracing off for this run): nothing was opened
        if outcome.ok:
            self.end_agent(outcome)
        run = self.observation
        safe_call("RunObservation.ended", run.ended, None, outcome)
        # Copies of the run's context (where current_run holds this record) can outlive the run, e.g. in a
        # cancelled timer handle until its deadline: they must not keep the ended run's telemetry alive.
        self.observation = NOOP_RUN
        self.agent = None
        # Tool entries stay until the SDK ends their spans: their activations exit in the tools' own tasks.
        for key in [k for k, v in self.spans.items() if not isinstance(v, tuple)]:
            del self.spans[key]


class _RunConfigView:
    """The SDK's ``RunConfig`` with the fields telemetry reads, defaults filled in."""

    def __init__(self, config: Any) -> None:
        self.workflow_name = getattr(config, "workflow_name", None) or "Agent workflow"
        self.group_id = getattr(config, "group_id", None)
        self.trace_metadata = getattr(config, "trace_metadata", None)
        self.tracing_disabled = bool(getattr(config, "tracing_disabled", False))
