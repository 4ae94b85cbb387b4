"""Running one scripted scenario through the real ``openai-agents`` SDK and through otelagents.

A scenario is a coroutine function ``scenario(lib, model)``: ``lib`` is the ``agents`` or the ``otelagents``
module (the same code runs on both, as a user's port would), ``model`` a Responses or Chat Completions model
of that library talking to the real ``OpenAICompatServer``. It returns a list of ``Outcome``s (one per run).
"""

from __future__ import annotations

import asyncio
import importlib
import types
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import openai

from otelagents.testing.server import OpenAICompatServer, Reply
from tests.runner_helpers import signature  # the same signatures for the SDK's events and ours

Scenario = Callable[[types.ModuleType, Any], Awaitable[list["Outcome"]]]


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


def sdk() -> types.ModuleType:
    module = importlib.import_module("agents")
    module.set_tracing_disabled(True)
    return module


def ours() -> types.ModuleType:
    return importlib.import_module("otelagents")


def make_model(lib: types.ModuleType, api: str, server: OpenAICompatServer) -> Any:
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    if api == "responses":
        return lib.OpenAIResponsesModel(model="gpt-test", openai_client=client)
    return lib.OpenAIChatCompletionsModel(model="gpt-test", openai_client=client)


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


async def run_both(scenario: Scenario, replies: list[Reply], api: str) -> tuple[list[Outcome], list[Outcome]]:
    """The scenario through the SDK, then through otelagents, each against a fresh server with ``replies``.

    Over Chat Completions, otelagents' documented extra raw events are left out of its outcomes, and the
    items in ``extra`` compare by ``chat_shape``."""
    from .sdk_parity import both

    sdk()  # the SDK's own tracing off: it would try to export to OpenAI
    expected, got = await both(scenario, replies, api=api, timeout=60.0)
    theirs: list[Outcome] = expected.value
    outcomes: list[Outcome] = got.value
    if api == "chat_completions":
        theirs = [Outcome(o.events, o.final_output, o.error, _shape_extra(o.extra)) for o in theirs]
        outcomes = [_chat_comparable(o) for o in outcomes]
    return theirs, outcomes
