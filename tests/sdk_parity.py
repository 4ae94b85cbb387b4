"""Run one scenario through the real ``openai-agents==0.24.0`` and through otelagents, over real HTTP: the
one harness of the compatibility and parity tests.

A scenario is an async function of ``(lib, model)``: ``lib`` is the ``agents`` or the ``otelagents`` module
(the same code runs on both, as a user's port would), ``model`` that library's ``OpenAIResponsesModel`` (or
chat model) talking to its own ``OpenAICompatServer`` that plays the same replies. It returns what the test
compares; ``both`` returns the SDK's answer and ours, and the requests each server saw. ``run_both`` is
``both`` for scenarios that return ``Outcome``s (what each run showed its caller, from ``stream``), with
otelagents' documented Chat Completions differences left out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest
from openai import AsyncOpenAI

import otelagents
from otelagents.testing.server import OpenAICompatServer, Reply
from tests.runner_helpers import signature as signature  # re-exported: the same for the SDK's events

agents = pytest.importorskip("agents", reason="the parity tests need openai-agents (the test extra pins it)")

Scenario = Callable[[ModuleType, Any], Awaitable[Any]]
OutcomeScenario = Callable[[ModuleType, Any], Awaitable[list["Outcome"]]]


@dataclass
class Side:
    value: Any
    requests: list[Any]  # the JSON bodies the server received


def model_for(lib: ModuleType, api: str, client: AsyncOpenAI) -> Any:
    """``lib``'s Responses (``api="responses"``) or Chat Completions model on ``client``."""
    if api == "chat_completions":
        return lib.OpenAIChatCompletionsModel(model="gpt-test", openai_client=client)
    return lib.OpenAIResponsesModel(model="gpt-test", openai_client=client)


def make_model(lib: ModuleType, api: str, server: OpenAICompatServer) -> Any:
    """``lib``'s model on a new client of ``server``."""
    return model_for(lib, api, AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0))


async def _side(lib: ModuleType, scenario: Scenario, replies: Sequence[Reply], api: str, timeout: float) -> Side:
    with OpenAICompatServer(list(replies)) as server:
        client = AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        try:
            value = await asyncio.wait_for(scenario(lib, model_for(lib, api, client)), timeout)
        finally:
            await client.close()
        return Side(value=value, requests=[r.body for r in server.requests])


async def both(
    scenario: Scenario, replies: Sequence[Reply] = (), *, api: str = "responses", timeout: float = 20.0
) -> tuple[Side, Side]:
    """(the SDK's side, ours), each from a fresh server playing ``replies``."""
    sdk = await _side(agents, scenario, replies, api, timeout)
    ours = await _side(otelagents, scenario, replies, api, timeout)
    return sdk, ours


def no_trace(lib: ModuleType, **config: Any) -> Any:
    """A ``RunConfig`` with the SDK's own tracing off (it would try to export to OpenAI)."""
    return lib.RunConfig(tracing_disabled=True, **config)


def items_only(events: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    return [e for e in events if e[0] != "raw"]


def error_name(exc: BaseException | None) -> str | None:
    return None if exc is None else type(exc).__name__


@dataclass
class Outcome:
    """What a run showed its caller: every stream event's signature, the final output, the error type."""

    events: list[tuple[str, ...]] = field(default_factory=list)
    final_output: Any = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def stream(result: Any, timeout: float = 20.0, on_event: Callable[[Any], None] | None = None) -> Outcome:
    """Consume a streamed run; the error (if any) is recorded by type name, as a caller would catch it."""
    outcome = Outcome()

    async def consume() -> None:
        async for event in result.stream_events():
            outcome.events.append(signature(event))
            if on_event is not None:
                on_event(event)

    try:
        await asyncio.wait_for(consume(), timeout)
    except Exception as exc:  # noqa: BLE001 - compared by type across the two libraries
        outcome.error = type(exc).__name__
    outcome.final_output = result.final_output
    return outcome


def ours() -> ModuleType:
    return otelagents


# Raw events otelagents' Chat Completions model adds to the SDK's (documented in the README's compatibility
# section: it emits the full Responses event sequence where the SDK leaves these out).
CHAT_EXTRA_RAW = frozenset((
    "response.in_progress", "response.output_text.done", "response.function_call_arguments.done",
    "response.refusal.done",
))


# Over Chat Completions the two libraries shape the model's items differently (documented: real ids where
# the SDK writes ``__fake_id__``; the SDK also adds ``provider_data`` and ``logprobs``). Items compare by
# these keys there; over the Responses API they compare whole.
_CHAT_ITEM_KEYS = frozenset(("role", "type", "call_id", "name", "arguments", "output", "content", "text"))


def chat_shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: chat_shape(v) for k, v in value.items() if k in _CHAT_ITEM_KEYS}
    if isinstance(value, list):  # items, or event signatures (of a nested run)
        return [chat_shape(v) for v in value if not (isinstance(v, tuple) and v[:1] == ("raw",)
                                                     and v[1] in CHAT_EXTRA_RAW)]
    return value


def _chat_comparable(outcome: Outcome) -> Outcome:
    events = [e for e in outcome.events if not (e[0] == "raw" and e[1] in CHAT_EXTRA_RAW)]
    return Outcome(events=events, final_output=outcome.final_output, error=outcome.error,
                   extra=_shape_extra(outcome.extra))


def _shape_extra(extra: dict[str, Any]) -> dict[str, Any]:
    return {key: chat_shape(value) for key, value in extra.items()}


async def run_both(scenario: OutcomeScenario, replies: list[Reply], api: str) -> tuple[list[Outcome], list[Outcome]]:
    """The scenario through the SDK, then through otelagents, each against a fresh server with ``replies``.

    Over Chat Completions, otelagents' documented extra raw events are left out of its outcomes, and the
    items in ``extra`` compare by ``chat_shape``."""
    agents.set_tracing_disabled(True)  # the SDK's own tracing off: it would try to export to OpenAI
    try:
        expected, got = await both(scenario, replies, api=api, timeout=60.0)
    finally:  # it is global: left off, it silenced the SDK plugin's spans in every later test
        agents.set_tracing_disabled(False)
    theirs: list[Outcome] = expected.value
    outcomes: list[Outcome] = got.value
    if api == "chat_completions":
        theirs = [Outcome(o.events, o.final_output, o.error, _shape_extra(o.extra)) for o in theirs]
        outcomes = [_chat_comparable(o) for o in outcomes]
    return theirs, outcomes
