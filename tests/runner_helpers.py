"""Helpers for the runner tests: compact event signatures and bounded collection."""

from __future__ import annotations

import asyncio
from typing import Any

from otelagents import RunResultStreaming, StreamEvent


def signature(event: StreamEvent) -> tuple[str, ...]:
    """(type, detail): the raw event type, the run-item name and item type, or the new agent's name."""
    if event.type == "raw_response_event":
        return ("raw", event.data.type)
    if event.type == "run_item_stream_event":
        return ("item", event.name, event.item.type)
    return ("agent", event.new_agent.name)


def without_raw(signatures: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    return [s for s in signatures if s[0] != "raw"]


async def collect(result: RunResultStreaming, timeout: float = 10.0) -> list[tuple[str, ...]]:
    """Every event's signature; raises the run's error like the plain ``async for`` would."""
    seen: list[tuple[str, ...]] = []

    async def consume() -> None:
        async for event in result.stream_events():
            seen.append(signature(event))

    await asyncio.wait_for(consume(), timeout)
    return seen


async def collect_until_error(
    result: RunResultStreaming, timeout: float = 10.0
) -> tuple[list[tuple[str, ...]], BaseException]:
    seen: list[tuple[str, ...]] = []

    async def consume() -> None:
        async for event in result.stream_events():
            seen.append(signature(event))

    try:
        await asyncio.wait_for(consume(), timeout)
    except Exception as exc:  # noqa: BLE001 - the caller asserts on the type
        return seen, exc
    raise AssertionError(f"the run did not fail; events: {seen}")


def pending_tasks() -> set[asyncio.Task[Any]]:
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and not t.done()}


TEXT_RAW = [
    ("raw", "response.created"),
    ("raw", "response.in_progress"),
    ("raw", "response.output_item.added"),
    ("raw", "response.content_part.added"),
]
TEXT_END = [
    ("raw", "response.output_text.done"),
    ("raw", "response.content_part.done"),
    ("raw", "response.output_item.done"),
    ("raw", "response.completed"),
]


def text_turn(n_deltas: int) -> list[tuple[str, ...]]:
    return TEXT_RAW + [("raw", "response.output_text.delta")] * n_deltas + TEXT_END


def call_turn(n_calls: int) -> list[tuple[str, ...]]:
    events = [("raw", "response.created"), ("raw", "response.in_progress")]
    for _ in range(n_calls):
        events += [
            ("raw", "response.output_item.added"),
            ("raw", "response.function_call_arguments.delta"),
            ("raw", "response.function_call_arguments.done"),
            ("raw", "response.output_item.done"),
        ]
    return events + [("raw", "response.completed")]
