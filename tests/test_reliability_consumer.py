"""Reliability: what the consumer of ``stream_events()`` does, and what happens to the run.

otelagents deliberately differs from the Agents SDK here: leaving the iteration early (``break``, an
exception in the loop body, ``aclose()``, dropping the iterator) cancels the run, as ``cancel()`` does, so
no model call or tool keeps running unseen. A cancelled wait (``wait_for`` timeout, the consuming task
cancelled) cancels the run too (reference §3.4). A result nobody iterates runs to completion in the
background and is then garbage-collected.

Each case runs over the real ``openai`` client against the local server and checks the outcome for the
caller, that the HTTP stream was closed (the server saw the client go), that every span ended (as
cancelled, status ERROR, ``error.type=cancelled``), the error counts, and that no task is left pending.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import pytest

from otelagents import Agent, RawResponsesStreamEvent, Runner, RunResultStreaming, function_tool
from otelagents.telemetry import semconv as sc
from otelagents.testing.server import Reply
from tests.reliability_helpers import (
    CANCELLED,
    ERR,
    OK,
    ServerHandle,
    assert_all_closed,
    assert_every_span,
    assert_no_pending_tasks,
    bounded,
    consume,
    error_counts,
    model_server,
    run_failed,
    run_finished,
    wait_until,
)
from tests.runner_helpers import signature
from tests.telemetry_helpers import Rig, make_rig, tree

__all__ = ["model_server"]  # the fixture, imported for pytest

pytestmark = pytest.mark.timeout(60)

LONG = Reply.long(300, "word ", gap=0.01)  # ~3 s of output: every case below leaves long before the end


@pytest.fixture
def rig() -> Rig:
    return make_rig()


def is_delta(event: Any) -> bool:
    return isinstance(event, RawResponsesStreamEvent) and event.data.type == "response.output_text.delta"


async def assert_cancelled_mid_stream(result: RunResultStreaming, model_server: ServerHandle, rig: Rig) -> None:
    """The run was cancelled during its model call: task cancelled, HTTP stream closed, every span cancelled."""
    task = await run_finished(result)
    assert task.cancelled(), f"the run was not cancelled: {task!r}"
    assert result.is_complete and result.final_output is None
    assert result.run_loop_exception is None
    await wait_until(lambda: model_server.server.disconnects == 1, 5, "the server seeing the stream closed")
    assert len(model_server.server.requests) == 1
    assert_every_span(rig, ERR, CANCELLED, operations=("invoke_workflow", "invoke_agent", "chat"))
    assert len(rig.spans()) == 3
    chat = rig.span("chat gpt-test")
    assert chat.status.description == "cancelled" and (chat.attributes or {})[sc.OTELAGENTS_CANCELLED] is True
    assert error_counts(rig.engine) == run_failed(CANCELLED)
    await assert_no_pending_tasks()


@pytest.mark.parametrize("how", ["break", "exception_in_body", "aclose", "drop_iterator"])
async def test_leaving_the_loop_cancels_the_run(how: str, model_server: ServerHandle, rig: Rig) -> None:
    model_server.server.add(LONG)
    result = Runner.run_streamed(Agent("chatty", model="gpt-test"), "talk",
                                 run_config=model_server.rig("responses").config(rig))
    seen = 0
    if how == "break":
        async for event in result.stream_events():
            seen += is_delta(event)
            if seen == 3:
                break
    elif how == "exception_in_body":
        with pytest.raises(KeyError):
            async for event in result.stream_events():
                seen += is_delta(event)
                if seen == 3:
                    raise KeyError("the consumer's own bug")
    else:
        stream = result.stream_events()
        while seen < 3:
            seen += is_delta(await bounded(stream.__anext__(), 5, "the next event"))
        if how == "aclose":
            await stream.aclose()  # type: ignore[attr-defined]
        else:
            del stream
    await assert_cancelled_mid_stream(result, model_server, rig)


async def test_cancel_immediate_mid_stream(model_server: ServerHandle, rig: Rig) -> None:
    model_server.server.add(LONG)
    result = Runner.run_streamed(Agent("chatty", model="gpt-test"), "talk",
                                 run_config=model_server.rig("responses").config(rig))
    events: list[Any] = []
    async for event in result.stream_events():  # no exception: the stream just ends
        events.append(event)
        if sum(map(is_delta, events)) == 5:
            result.cancel()
            result.cancel()  # idempotent
    assert sum(map(is_delta, events)) == 5 and is_delta(events[-1])  # nothing after the cancel
    await assert_cancelled_mid_stream(result, model_server, rig)


async def test_cancel_after_turn_at_tool_called(model_server: ServerHandle, rig: Rig) -> None:
    ran: list[str] = []

    @function_tool
    def fetch(key: str) -> str:
        """Fetch a value."""
        ran.append(key)
        return f"value of {key}"

    model_server.server.add(Reply.tool_calls([("fetch", {"key": "k1"})]), Reply.text("never requested"))
    result = Runner.run_streamed(Agent("fetcher", model="gpt-test", tools=[fetch]), "go",
                                 run_config=model_server.rig("responses").config(rig))
    names: list[tuple[str, ...]] = []
    async for event in result.stream_events():
        names.append(signature(event))
        if names[-1] == ("item", "tool_called", "tool_call_item"):
            result.cancel("after_turn")
    assert names[-2:] == [("item", "tool_called", "tool_call_item"), ("item", "tool_output", "tool_call_output_item")]
    assert ran == ["k1"] and [i.type for i in result.new_items] == ["tool_call_item", "tool_call_output_item"]
    assert result.final_output is None and result.is_complete and result.run_loop_exception is None
    assert len(model_server.server.requests) == 1  # stopped before the next model call
    await run_finished(result)
    assert tree(rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", ERR, CANCELLED, [
        ("invoke_agent fetcher", "INTERNAL", ERR, CANCELLED, [
            ("chat gpt-test", "CLIENT", OK, None, []),
            ("execute_tool fetch", "INTERNAL", OK, None, []),
        ]),
    ])]
    assert_all_closed(rig)
    assert error_counts(rig.engine) == run_failed(CANCELLED, chat=0)
    await assert_no_pending_tasks()


async def test_wait_for_timeout_around_the_consuming_loop(model_server: ServerHandle, rig: Rig) -> None:
    model_server.server.add(LONG)
    result = Runner.run_streamed(Agent("chatty", model="gpt-test"), "talk",
                                 run_config=model_server.rig("responses").config(rig))
    events: list[Any] = []

    async def consume_all() -> None:
        async for event in result.stream_events():
            events.append(event)

    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(consume_all(), 0.5)
    assert loop.time() - started < 2
    assert 0 < sum(map(is_delta, events)) < 300  # the timeout came mid-stream
    await assert_cancelled_mid_stream(result, model_server, rig)


async def test_consuming_task_cancelled(model_server: ServerHandle, rig: Rig) -> None:
    model_server.server.add(LONG)
    result = Runner.run_streamed(Agent("chatty", model="gpt-test"), "talk",
                                 run_config=model_server.rig("responses").config(rig))
    deltas: list[Any] = []

    async def consume_all() -> None:
        async for event in result.stream_events():
            if is_delta(event):
                deltas.append(event)

    consumer = asyncio.ensure_future(consume_all())
    await wait_until(lambda: len(deltas) >= 3, 5, "three deltas")
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await bounded(consumer, 2, "the cancelled consumer")
    await assert_cancelled_mid_stream(result, model_server, rig)


async def test_abandoned_result_completes_in_the_background_and_is_collected(model_server: ServerHandle,
                                                                             rig: Rig) -> None:
    ran: list[str] = []

    @function_tool
    async def record(note: str) -> str:
        """Record a note."""
        await asyncio.sleep(0.05)
        ran.append(note)
        return "recorded"

    model_server.server.add(Reply.tool_calls([("record", {"note": "n1"})]), Reply.text("Noted.", gap=0.01))
    result: RunResultStreaming | None = Runner.run_streamed(
        Agent("abandoned", model="gpt-test", tools=[record]), "go",
        run_config=model_server.rig("responses").config(rig))
    assert result is not None and result.run_loop_task is not None
    task, alive = result.run_loop_task, weakref.ref(result)
    del result  # never iterated: nobody holds the result but the run itself
    await bounded(asyncio.wait([task]), 10, "the abandoned run")
    assert not task.cancelled() and task.exception() is None  # it ran to completion
    assert ran == ["n1"] and len(model_server.server.requests) == 2
    del task
    gc.collect()
    assert alive() is None, f"the finished result is still referenced by {gc.get_referrers(alive())!r}"
    assert tree(rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
        ("invoke_agent abandoned", "INTERNAL", OK, None, [
            ("chat gpt-test", "CLIENT", OK, None, []),
            ("execute_tool record", "INTERNAL", OK, None, []),
            ("chat gpt-test", "CLIENT", OK, None, []),
        ]),
    ])]
    assert_all_closed(rig)
    assert error_counts(rig.engine) == {}
    await assert_no_pending_tasks()


async def test_consumer_leaving_during_a_tool_stops_the_tool(model_server: ServerHandle, rig: Rig) -> None:
    """Leaving while a tool runs cancels the tool task too: its span ends cancelled and nothing runs on."""
    started, finished = asyncio.Event(), []

    @function_tool
    async def crunch() -> str:
        """Crunch numbers for a long time."""
        started.set()
        await asyncio.sleep(30)
        finished.append("crunched")
        return "done"

    model_server.server.add(Reply.tool_calls([("crunch", {})]), Reply.text("never requested"))
    result = Runner.run_streamed(Agent("cruncher", model="gpt-test", tools=[crunch]), "go",
                                 run_config=model_server.rig("responses").config(rig))
    stream = result.stream_events()
    while not started.is_set():
        await bounded(stream.__anext__(), 5, "the next event")
    await stream.aclose()  # type: ignore[attr-defined]
    task = await run_finished(result)
    assert task.cancelled() and finished == [] and len(model_server.server.requests) == 1
    assert tree(rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", ERR, CANCELLED, [
        ("invoke_agent cruncher", "INTERNAL", ERR, CANCELLED, [
            ("chat gpt-test", "CLIENT", OK, None, []),
            ("execute_tool crunch", "INTERNAL", ERR, CANCELLED, []),
        ]),
    ])]
    assert_all_closed(rig)
    assert error_counts(rig.engine) == {**run_failed(CANCELLED, chat=0), (sc.OP_EXECUTE_TOOL, CANCELLED): 1}
    await assert_no_pending_tasks()


async def test_cancel_before_iterating_yields_nothing_and_closes_everything(model_server: ServerHandle,
                                                                            rig: Rig) -> None:
    model_server.server.add(LONG)
    result = Runner.run_streamed(Agent("chatty", model="gpt-test"), "talk",
                                 run_config=model_server.rig("responses").config(rig))
    result.cancel()
    seen = await consume(result)
    assert seen.events == [] and seen.error is None
    task = await run_finished(result)
    assert task.cancelled()
    assert_all_closed(rig)
    await assert_no_pending_tasks()
