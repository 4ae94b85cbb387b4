"""Run one scenario through the real ``openai-agents==0.24.0`` and through otelagents, over real HTTP.

A scenario is an async function of ``(lib, model)``: ``lib`` is the ``agents`` or the ``otelagents``
module, ``model`` that library's ``OpenAIResponsesModel`` (or chat model) talking to its own
``OpenAICompatServer`` that plays the same replies. It returns what the test compares; ``both`` returns
the SDK's answer and ours, and the requests each server saw.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from openai import AsyncOpenAI

import otelagents
from otelagents.testing.server import OpenAICompatServer, Reply
from tests.runner_helpers import signature as signature  # re-exported: the same for the SDK's events

agents = pytest.importorskip("agents", reason="the parity tests need openai-agents (the test extra pins it)")

Scenario = Callable[[ModuleType, Any], Awaitable[Any]]


@dataclass
class Side:
    value: Any
    requests: list[Any]  # the JSON bodies the server received


def _model(lib: ModuleType, client: AsyncOpenAI, api: str) -> Any:
    if api == "chat_completions":
        return lib.OpenAIChatCompletionsModel(model="gpt-test", openai_client=client)
    return lib.OpenAIResponsesModel(model="gpt-test", openai_client=client)


async def _side(lib: ModuleType, scenario: Scenario, replies: Sequence[Reply], api: str, timeout: float) -> Side:
    with OpenAICompatServer(list(replies)) as server:
        client = AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        try:
            value = await asyncio.wait_for(scenario(lib, _model(lib, client, api)), timeout)
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
