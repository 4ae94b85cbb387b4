"""Reliability: model-server faults, tool faults and ``max_turns``, end to end through the runner.

Each run goes over the real ``openai`` client to the local ``OpenAICompatServer`` (both APIs where the
fault exists in both) with telemetry on, and each case checks what the caller sees (the events, then the
documented error, unchanged), that every span ended with the right status and ``error.type``, that the
error counter counted it, and that no asyncio task is left behind. The adapters' own fault handling is
tested in ``test_openai_errors``; this file checks that the runner and the telemetry carry it through.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from otelagents import (
    Agent,
    MaxTurnsExceeded,
    ModelBehaviorError,
    Runner,
    UserError,
    function_tool,
)
from otelagents.telemetry import semconv as sc
from otelagents.testing.server import Reply
from otelagents.tool import DEFAULT_TOOL_ERROR_MESSAGE
from tests.reliability_helpers import (
    APIS,
    ERR,
    OK,
    ServerHandle,
    assert_all_closed,
    assert_every_span,
    assert_no_pending_tasks,
    chat_finish_reasons,
    consume,
    error_counts,
    model_server,
    run_failed,
    run_finished,
    tool_outputs,
)
from tests.telemetry_helpers import Rig, make_rig, tree

__all__ = ["model_server"]  # the fixture, imported for pytest

pytestmark = pytest.mark.timeout(60)

CLOSED = "connection closed before the response completed"


@pytest.fixture
def rig() -> Rig:
    return make_rig()


def free_port() -> int:
    """A port that was free a moment ago, with nobody listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- model server faults ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fault:
    replies: tuple[Reply, ...]
    error: type[BaseException]
    match: str  # a regular expression the error message must match
    deltas_first: bool  # output deltas reach the consumer before the error
    max_retries: int = 0
    timeout_s: float = 10.0
    refused: bool = False

    @property
    def error_type(self) -> str:
        return self.error.__qualname__


FAULTS = {
    "500-retries-exhausted": Fault((Reply.status(500, retry_after=0.01, message="upstream boom"),) * 3,
                                   openai.InternalServerError, "upstream boom", False, max_retries=2),
    "429-retries-exhausted": Fault((Reply.status(429, retry_after=0.01, message="slow down"),) * 3,
                                   openai.RateLimitError, "slow down", False, max_retries=2),
    "connection-refused": Fault((), openai.APIConnectionError, "Connection error", False, refused=True),
    "read-timeout": Fault((Reply.fault("stall", stall_seconds=20),), openai.APITimeoutError, "timed out", True,
                          timeout_s=0.5),
    "dropped-mid-stream": Fault((Reply.fault("drop_mid_stream"),), ModelBehaviorError, CLOSED, True),
    "undecodable-event": Fault((Reply.fault("garbage"),), ModelBehaviorError, "not JSON", True),
    # The message names the API used: a Chat Completions stream is never called a "Responses stream".
    "response-failed": Fault((Reply.fault("failed", error_message="model exploded"),), ModelBehaviorError,
                             r"^Responses stream ended with terminal event `response\.failed`|"
                             r"^Chat Completions stream ended with an error chunk.*model exploded", False),
    "response-incomplete": Fault((Reply.fault("incomplete"),), ModelBehaviorError,
                                 r"^Responses stream ended with terminal event `response\.incomplete`|"
                                 r"^Chat Completions stream terminated with finish_reason='length'", False),
    "error-event": Fault((Reply.fault("error_event", error_message="model exploded"),), ModelBehaviorError,
                         r"^Responses stream ended with terminal event `error`|"
                         r"^Chat Completions stream ended with an error chunk.*model exploded", False),
    "no-terminal-event": Fault((Reply.fault("no_terminal"),), ModelBehaviorError, CLOSED, True),
}


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("name", list(FAULTS))
async def test_model_server_fault(name: str, api: str, model_server: ServerHandle, rig: Rig) -> None:
    fault = FAULTS[name]
    model_server.server.add(*fault.replies)
    base_url = f"http://127.0.0.1:{free_port()}/v1" if fault.refused else None
    openai_rig = model_server.rig(api, max_retries=fault.max_retries, timeout_s=fault.timeout_s, base_url=base_url)
    result = Runner.run_streamed(Agent("faulty", model="gpt-test"), "hello", run_config=openai_rig.config(rig))
    seen = await consume(result, timeout_s=10)

    # The caller: the documented error, unchanged, after the events that came before it.
    error = seen.error
    assert type(error) is fault.error, f"{name}: expected {fault.error.__name__}, got {error!r}"
    assert re.search(fault.match, str(error)), f"{name}: {error}"
    assert api == "responses" or "Responses stream" not in str(error), f"{name}: {error}"
    assert result.run_loop_exception is error
    assert result.is_complete and result.final_output is None
    signatures = seen.signatures()
    assert signatures[0] == ("agent", "faulty")
    assert (seen.deltas() > 0) == fault.deltas_first, signatures
    if name == "undecodable-event" and api == "responses":
        assert "'response.output_text.delta'" in str(error)  # names the event that could not be decoded
    if name in ("response-failed", "response-incomplete", "error-event"):
        assert signatures[-1][0] == "raw" and re.search(r"response\.failed|response\.incomplete|error",
                                                         signatures[-1][1])
    if name == "read-timeout":
        assert seen.elapsed_s < 5, f"the read timeout took {seen.elapsed_s:.1f} s"
    expected_requests = 0 if fault.refused else fault.max_retries + 1
    assert len(model_server.server.requests) == expected_requests

    # Telemetry: every span ended in error with the error's type; the error was counted once per level.
    await run_finished(result)
    assert_every_span(rig, ERR, fault.error_type, operations=("invoke_workflow", "invoke_agent", "chat"))
    assert len(rig.spans()) == 3
    if name != "response-incomplete":
        assert chat_finish_reasons(rig) == [("error",)]
    assert error_counts(rig.engine) == run_failed(fault.error_type)
    await assert_no_pending_tasks()


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("status", [500, 429])
async def test_retried_status_then_success(status: int, api: str, model_server: ServerHandle, rig: Rig) -> None:
    model_server.server.add(Reply.status(status, retry_after=0.01), Reply.text("Recovered answer"))
    openai_rig = model_server.rig(api, max_retries=2)
    result = Runner.run_streamed(Agent("retrying", model="gpt-test"), "hello", run_config=openai_rig.config(rig))
    seen = await consume(result)
    assert seen.error is None and result.final_output == "Recovered answer"
    assert [s for s in seen.signatures() if s == ("raw", "response.created")] == [("raw", "response.created")]
    assert [r.headers["x-stainless-retry-count"] for r in model_server.server.requests] == ["0", "1"]
    await run_finished(result)
    assert_every_span(rig, OK, None)
    assert len(rig.spans()) == 3  # the retry is inside one model call: one chat span
    assert error_counts(rig.engine) == {}
    await assert_no_pending_tasks()


# --- tools ------------------------------------------------------------------------------------------------

@function_tool
def lookup(key: str) -> str:
    """Look a key up."""
    return key.upper()


def _failing(raise_on_failure: bool) -> Any:
    def inventory(item: str) -> str:
        """Count an item in stock."""
        raise ValueError(f"inventory database down while counting {item}")

    if raise_on_failure:
        return function_tool(inventory, failure_error_function=None)
    return function_tool(inventory)


@pytest.mark.parametrize("api", APIS)
async def test_raising_tool_reports_the_error_text_to_the_model(api: str, model_server: ServerHandle,
                                                                rig: Rig) -> None:
    model_server.server.add(Reply.tool_calls([("inventory", {"item": "bolts"})]), Reply.text("Sorry, try later."))
    agent = Agent("shop", model="gpt-test", tools=[_failing(False)])
    result = Runner.run_streamed(agent, "how many bolts?", run_config=model_server.rig(api).config(rig))
    seen = await consume(result)
    assert seen.error is None and result.final_output == "Sorry, try later."
    assert tool_outputs(model_server.server.requests[1]) == [DEFAULT_TOOL_ERROR_MESSAGE]
    await run_finished(result)
    assert tree(rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", OK, None, [
        ("invoke_agent shop", "INTERNAL", OK, None, [
            ("chat gpt-test", "CLIENT", OK, None, []),
            ("execute_tool inventory", "INTERNAL", ERR, "ValueError", []),
            ("chat gpt-test", "CLIENT", OK, None, []),
        ]),
    ])]
    assert rig.span("execute_tool inventory").attributes[sc.OTELAGENTS_ERROR_HANDLED] is True  # type: ignore[index]
    assert_all_closed(rig)
    assert error_counts(rig.engine) == {(sc.OP_EXECUTE_TOOL, "ValueError"): 1}
    await assert_no_pending_tasks()


@pytest.mark.parametrize("api", APIS)
async def test_raising_tool_without_failure_function_fails_the_run(api: str, model_server: ServerHandle,
                                                                   rig: Rig) -> None:
    model_server.server.add(Reply.tool_calls([("inventory", {"item": "bolts"})]))
    agent = Agent("shop", model="gpt-test", tools=[_failing(True)])
    result = Runner.run_streamed(agent, "how many bolts?", run_config=model_server.rig(api).config(rig))
    seen = await consume(result)
    assert isinstance(seen.error, UserError) and "Error running tool inventory" in str(seen.error)
    assert isinstance(seen.error.__cause__, ValueError)
    assert ("item", "tool_called", "tool_call_item") in seen.signatures()  # the call was delivered first
    assert len(model_server.server.requests) == 1
    await run_finished(result)
    assert tree(rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", ERR, "UserError", [
        ("invoke_agent shop", "INTERNAL", ERR, "UserError", [
            ("chat gpt-test", "CLIENT", OK, None, []),
            ("execute_tool inventory", "INTERNAL", ERR, "UserError", []),
        ]),
    ])]
    assert_all_closed(rig)
    assert error_counts(rig.engine) == {**run_failed("UserError", chat=0), (sc.OP_EXECUTE_TOOL, "UserError"): 1}
    await assert_no_pending_tasks()


@pytest.mark.parametrize("raise_on_failure", [False, True], ids=["reported", "raised"])
async def test_malformed_arguments_from_the_model(raise_on_failure: bool, model_server: ServerHandle,
                                                  rig: Rig) -> None:
    ran: list[str] = []

    def counter(item: str) -> str:
        """Count an item."""
        ran.append(item)
        return "3"

    tool = function_tool(counter, failure_error_function=None) if raise_on_failure else function_tool(counter)
    model_server.server.add(Reply.tool_calls([("counter", '{"item": "bolts"')]), Reply.text("I could not count."))
    agent = Agent("shop", model="gpt-test", tools=[tool])
    result = Runner.run_streamed(agent, "count", run_config=model_server.rig("responses").config(rig))
    seen = await consume(result)
    assert ran == []  # the tool never ran on arguments it could not parse
    await run_finished(result)
    if raise_on_failure:
        assert isinstance(seen.error, ModelBehaviorError) and "Invalid JSON input for tool counter" in str(seen.error)
        assert error_counts(rig.engine) == {**run_failed("ModelBehaviorError", chat=0),
                                            (sc.OP_EXECUTE_TOOL, "ModelBehaviorError"): 1}
        assert_every_span(rig, ERR, "ModelBehaviorError", operations=("invoke_workflow", "invoke_agent",
                                                                       "execute_tool"))
    else:
        assert seen.error is None and result.final_output == "I could not count."
        assert tool_outputs(model_server.server.requests[1]) == [DEFAULT_TOOL_ERROR_MESSAGE]
        assert error_counts(rig.engine) == {(sc.OP_EXECUTE_TOOL, "ModelBehaviorError"): 1}
        assert_every_span(rig, ERR, "ModelBehaviorError", operations=("execute_tool",))
        assert_every_span(rig, OK, None, operations=("invoke_workflow", "invoke_agent", "chat"))
    await assert_no_pending_tasks()


@pytest.mark.parametrize("behaviour", ["raise", "return_error_to_model"])
async def test_unknown_tool_name(behaviour: str, model_server: ServerHandle, rig: Rig) -> None:
    model_server.server.add(Reply.tool_calls([("delete_everything", {})]), Reply.text("I cannot do that."))
    agent = Agent("careful", model="gpt-test", tools=[lookup])
    config = model_server.rig("responses").config(rig, tool_not_found_behavior=behaviour)
    result = Runner.run_streamed(agent, "go", run_config=config)
    seen = await consume(result)
    await run_finished(result)
    if behaviour == "raise":
        assert isinstance(seen.error, ModelBehaviorError)
        assert str(seen.error) == "Tool delete_everything not found in agent careful"
        assert seen.signatures()[-1] == ("raw", "response.completed")  # the whole response came first
        assert tree(rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", ERR, "ModelBehaviorError", [
            ("invoke_agent careful", "INTERNAL", ERR, "ModelBehaviorError", [
                ("chat gpt-test", "CLIENT", OK, None, []),
            ]),
        ])]
        assert error_counts(rig.engine) == run_failed("ModelBehaviorError", chat=0)
    else:
        assert seen.error is None and result.final_output == "I cannot do that."
        assert tool_outputs(model_server.server.requests[1]) == ["Tool 'delete_everything' not found."]
        assert_every_span(rig, OK, None)
        assert error_counts(rig.engine) == {}
    assert_all_closed(rig)
    await assert_no_pending_tasks()


async def test_slow_sync_tool_does_not_block_other_runs(model_server: ServerHandle, rig: Rig) -> None:
    """A sync tool sleeping 1.5 s runs in a worker thread: another run's events keep flowing meanwhile."""
    started, window = threading.Event(), {}

    def slow_report() -> str:
        """Build a slow report."""
        window["start"] = time.monotonic()
        started.set()
        time.sleep(1.5)  # blocking: the event loop must not wait for it
        window["end"] = time.monotonic()
        return "report ready"

    def responder(request: Any) -> Reply:
        if "slow" in str(request.body):
            return Reply.text("Here it is.") if tool_outputs(request) else Reply.tool_calls([("slow_report", {})])
        return Reply.long(40, "tick ", gap=0.02)

    model_server.responder = responder
    openai_rig = model_server.rig("responses")
    slow = Runner.run_streamed(Agent("slow", model="gpt-test", tools=[function_tool(slow_report)]), "slow please",
                               run_config=openai_rig.config(rig))
    slow_seen = asyncio.ensure_future(consume(slow))
    await asyncio.wait_for(asyncio.to_thread(started.wait, 5), 6)
    stamps: list[float] = []
    fast = Runner.run_streamed(Agent("fast", model="gpt-test"), "fast please", run_config=openai_rig.config(rig))
    async for event in fast.stream_events():
        if event.type == "raw_response_event" and event.data.type == "response.output_text.delta":
            stamps.append(time.monotonic())
    slow_result = await slow_seen
    assert slow_result.error is None and slow.final_output == "Here it is."
    assert fast.final_output == "tick " * 40
    during = [t for t in stamps if window["start"] <= t <= window["end"]]
    assert len(during) >= 20, f"only {len(during)} of 40 deltas arrived while the sync tool slept"
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert max(gaps) < 0.5, f"the other run stalled for {max(gaps):.2f} s (the tool sleeps 1.5 s)"
    await run_finished(slow)
    assert_every_span(rig, OK, None)
    await assert_no_pending_tasks()


# --- max_turns ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("api", APIS)
async def test_max_turns_exceeded(api: str, model_server: ServerHandle, rig: Rig) -> None:
    model_server.responder = lambda request: Reply.tool_calls([("lookup", {"key": "again"})])
    agent = Agent("looper", model="gpt-test", tools=[lookup])
    result = Runner.run_streamed(agent, "loop", max_turns=2, run_config=model_server.rig(api).config(rig))
    seen = await consume(result)
    assert isinstance(seen.error, MaxTurnsExceeded) and str(seen.error) == "Max turns (2) exceeded"
    assert seen.error.run_data is not None and len(seen.error.run_data.raw_responses) == 2
    assert seen.signatures()[-1] == ("item", "tool_output", "tool_call_output_item")  # the last turn, in full
    assert len(model_server.server.requests) == 2
    await run_finished(result)
    assert tree(rig.spans()) == [("invoke_workflow Agent workflow", "INTERNAL", ERR, "MaxTurnsExceeded", [
        ("invoke_agent looper", "INTERNAL", ERR, "MaxTurnsExceeded", [
            ("chat gpt-test", "CLIENT", OK, None, []),
            ("execute_tool lookup", "INTERNAL", OK, None, []),
            ("chat gpt-test", "CLIENT", OK, None, []),
            ("execute_tool lookup", "INTERNAL", OK, None, []),
        ]),
    ])]
    assert_all_closed(rig)
    assert error_counts(rig.engine) == run_failed("MaxTurnsExceeded", chat=0)
    await assert_no_pending_tasks()
