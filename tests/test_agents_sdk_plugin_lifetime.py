"""The Agents SDK plugin keeps a streamed run's state on the run's own result, not in a module-level table:
a run that never ends (its event loop closed while it waits on the model) must not stay reachable from the
plugin's modules for the life of the process."""

from __future__ import annotations

import asyncio
from typing import Any

from agents import Agent, Runner

from otelagents.instrumentation.agents_sdk import _patches, _runs
from otelagents.testing.server import Reply
from tests.agents_sdk_helpers import SDKRig, sdk

__all__ = ["sdk"]  # the fixture


def _held_by_module(module: Any, record: object) -> list[str]:
    """Names of the module's globals that hold ``record`` (itself, or in a dict, list, tuple or set)."""
    held = []
    for name, value in vars(module).items():
        values = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple, set)) else ()
        if value is record or any(v is record for v in values):
            held.append(name)
    return held


async def test_a_streamed_run_in_flight_is_held_by_its_result_only(sdk: SDKRig) -> None:
    sdk.server.add(Reply.text("never sent", ttft=60))  # the model does not answer while the test looks
    result = Runner.run_streamed(Agent(name="A", model=sdk.model("responses")), "hi")
    try:
        for _ in range(300):  # until the request is at the server (at most 15 s)
            if sdk.server.requests:
                break
            await asyncio.sleep(0.05)
        record = getattr(result, _patches._RECORD)
        assert isinstance(record, _runs.RunRecord) and not record.done
        assert _held_by_module(_patches, record) == [] and _held_by_module(_runs, record) == []
    finally:
        result.cancel()
        task = result.run_loop_task
        assert task is not None
        await asyncio.wait_for(asyncio.wait([task]), 15)
        await asyncio.sleep(0)
    assert record.done  # the done callback still ends the run


async def test_a_finished_streamed_run_is_not_watched_again(sdk: SDKRig) -> None:
    sdk.server.add(Reply.text("one two"))
    result = Runner.run_streamed(Agent(name="A", model=sdk.model("responses")), "hi")
    events = [event async for event in result.stream_events()]
    task = result.run_loop_task
    assert events and task is not None
    await asyncio.wait_for(asyncio.wait([task]), 15)
    await asyncio.sleep(0)
    assert getattr(result, _patches._RECORD).done
    again = result.stream_events()  # the run ended: the SDK's own iterator, not our watch
    assert not isinstance(again, _patches._WatchedEvents)
    await again.aclose()
