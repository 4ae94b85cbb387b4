"""The built-in scenarios and the offline model, shared by ``otelagents demo`` and ``otelagents profile``.

A neutral module: the CLI and :mod:`otelagents.profile` both import it, neither imports the other's privates.

Three scenarios, each a starting agent, a prompt and a script for the offline model:

* ``jokes``: the seed's first example, a streamed answer to "Please tell me 5 jokes.";
* ``tools``: the seed's second example, a call to ``how_many_jokes`` and then that many jokes;
* ``handoff``: a triage agent hands off to a specialist, who answers.

The same agents run against a real model (``--model``); the scripts are used only offline. Offline, the
scripted model is paced like a hosted one (:class:`PacedModel`): about 300 ms to the first token, then
20-40 ms per token with an occasional slower one, so the latency figures have a shape worth looking at.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openai.types.responses import ResponseStreamEvent

from otelagents.agent import Agent
from otelagents.models.interface import Model, ModelInfo, ModelTracing
from otelagents.testing.scripted import ScriptedModel, ScriptEntry, ScriptRequest, handoff, tool_call
from otelagents.tool import FunctionTool, function_tool

SCENARIO_NAMES = ("jokes", "tools", "handoff")
SCRIPTED_MODEL_NAME = "scripted-demo"

_JOKES = (
    "Why did the developer go broke? Because he used up all his cache.",
    "I told my computer I needed a break, and it said: no problem, I will go to sleep.",
    "Why do programmers prefer dark mode? Because light attracts bugs.",
    "A SQL query walks into a bar, goes up to two tables and asks: may I join you?",
    "Why was the function so calm? It had no side effects.",
    "How many programmers does it take to change a light bulb? None, that is a hardware problem.",
    "Why did the array feel lonely? It had lost all its elements.",
    "My code never has bugs. It just develops random unexpected features.",
    "Why did the thread stop talking? It was waiting for a lock.",
    "What do you call eight hobbits? A hobbyte.",
)
_PUN = ("Here is one about databases: I wanted to tell you a joke about an index, but you would have to "
        "look it up. And one more: the database administrator left his wife because she had one-to-many "
        "relationships.")


def jokes_text(count: int) -> str:
    """``count`` numbered jokes, one per line (1 to 10)."""
    count = max(1, min(count, len(_JOKES)))
    return "\n".join(f"{i}. {joke}" for i, joke in enumerate(_JOKES[:count], start=1))


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    prompt: str
    workflow_name: str
    agent: Callable[[], Agent[Any]]  # a fresh starting agent per run
    script: Callable[[ScriptRequest], ScriptEntry]  # the offline model's answer to each request


# --- the agents ------------------------------------------------------------------------------------------
_rng = random.Random()


def _how_many_jokes_tool() -> FunctionTool:
    @function_tool
    def how_many_jokes() -> int:
        return _rng.randint(1, 10)

    return how_many_jokes


def _joker() -> Agent[Any]:
    return Agent(name="Joker", instructions="You are a helpful assistant.")


def _joker_with_tool() -> Agent[Any]:
    return Agent(
        name="Joker",
        instructions="First call the `how_many_jokes` tool, then tell that many jokes.",
        tools=[_how_many_jokes_tool()],
    )


def _triage() -> Agent[Any]:
    specialist: Agent[Any] = Agent(
        name="Pun specialist",
        handoff_description="Tells puns and jokes about any topic.",
        instructions="You tell short, clever puns about the topic you are given.",
    )
    return Agent(
        name="Triage",
        instructions="You route each request to the right specialist. Hand anything about jokes or puns "
                     "to the Pun specialist; do not answer it yourself.",
        handoffs=[specialist],
    )


# --- the offline scripts (stateless: they read the request, so concurrent runs can share them) ------------
def _tool_output(request: ScriptRequest) -> str | None:
    for item in reversed(request.input):
        if isinstance(item, dict) and item.get("type") == "function_call_output":
            return str(item.get("output"))
    return None


def _jokes_script(request: ScriptRequest) -> ScriptEntry:
    return jokes_text(5)


def _tools_script(request: ScriptRequest) -> ScriptEntry:
    output = _tool_output(request)
    if output is None:
        return [tool_call("how_many_jokes")]
    try:
        count = int(output)
    except ValueError:
        count = 3
    return jokes_text(count)


def _handoff_script(request: ScriptRequest) -> ScriptEntry:
    if request.handoffs:  # the triage agent: hand off
        return [handoff("Pun specialist")]
    return _PUN


SCENARIOS: dict[str, Scenario] = {
    "jokes": Scenario("jokes", "a streamed answer", "Please tell me 5 jokes.", "demo jokes", _joker,
                      _jokes_script),
    "tools": Scenario("tools", "a tool call, then the answer", "Hello", "demo tools", _joker_with_tool,
                      _tools_script),
    "handoff": Scenario("handoff", "a handoff from triage to a specialist", "Tell me a pun about databases.",
                        "demo handoff", _triage, _handoff_script),
}


def select(name: str) -> list[Scenario]:
    """The scenarios for ``--scenario`` (``all`` or one name)."""
    if name == "all":
        return [SCENARIOS[n] for n in SCENARIO_NAMES]
    return [SCENARIOS[name]]


# --- pacing -----------------------------------------------------------------------------------------------
_OUTPUT_DELTAS = frozenset(("response.output_text.delta", "response.refusal.delta",
                            "response.function_call_arguments.delta"))


@dataclass(frozen=True)
class Pace:
    """How the offline model is paced (seconds). ``Pace.none()`` for ``--fast``."""

    first_token: tuple[float, float] = (0.25, 0.35)
    gap: tuple[float, float] = (0.02, 0.04)
    slow_gap: tuple[float, float] = (0.08, 0.16)
    slow_share: float = 0.03

    @classmethod
    def none(cls) -> Pace:
        return cls((0.0, 0.0), (0.0, 0.0), (0.0, 0.0), 0.0)

    @property
    def is_none(self) -> bool:
        return self.first_token[1] == 0 and self.gap[1] == 0 and (self.slow_share == 0 or self.slow_gap[1] == 0)

    def next_gap(self, rng: random.Random) -> float:
        low, high = self.slow_gap if rng.random() < self.slow_share else self.gap
        return rng.uniform(low, high)


class PacedModel(Model):
    """Wraps a model and waits before each output delta: ``pace.first_token`` before the first, a gap
    before each later one. The first event (``response.created``) is not delayed, as with a hosted
    model, so time to first chunk and time to first token differ the way they do in production."""

    def __init__(self, inner: Model, pace: Pace, rng: random.Random | None = None) -> None:
        self.inner = inner
        self.pace = pace
        self._rng = rng or random.Random()

    def describe(self) -> ModelInfo:
        return self.inner.describe()

    async def stream_response(
        self,
        system_instructions: str | None,
        input: Any,
        model_settings: Any,
        tools: list[Any],
        output_schema: Any,
        handoffs: list[Any],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: Any = None,
    ) -> AsyncIterator[ResponseStreamEvent]:
        first = True
        stream = self.inner.stream_response(
            system_instructions, input, model_settings, tools, output_schema, handoffs, tracing,
            previous_response_id=previous_response_id, conversation_id=conversation_id, prompt=prompt,
        )
        async for event in stream:
            if event.type in _OUTPUT_DELTAS and not self.pace.is_none:
                delay = self._rng.uniform(*self.pace.first_token) if first else self.pace.next_gap(self._rng)
                first = False
                await asyncio.sleep(delay)
            yield event


def offline_model(scenario: Scenario, pace: Pace) -> Model:
    """The scripted model for one run of ``scenario``, paced by ``pace``."""
    model = ScriptedModel(scenario.script, model=SCRIPTED_MODEL_NAME)
    return model if pace.is_none else PacedModel(model, pace)


def scenario_names(scenarios: Sequence[Scenario]) -> str:
    return ", ".join(s.name for s in scenarios)
