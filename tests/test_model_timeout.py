"""``ModelSettings.timeout``: one deadline over each whole model call, ``ModelTimeoutError`` when it passes,
compared with the real Agents SDK 0.24.0 over the test server (a server slower than the deadline), and
reported by the telemetry as the model call's ``error.type``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

import otelagents
from otelagents import (
    Agent,
    Model,
    ModelResponse,
    ModelSettings,
    ModelTimeoutError,
    RunConfig,
    Runner,
    Usage,
    UserError,
    WebSearchTool,
)
from otelagents.telemetry import semconv as sc
from otelagents.testing.server import OpenAICompatServer, Reply

from .agents_sdk_helpers import SDKRig, assert_all_closed, sdk
from .hosted_sse import hosted_items_reply
from .sdk_parity import both, items_only, make_model, no_trace, ours, signature
from .telemetry_helpers import drain, make_rig, tree, wait_done

__all__ = ["sdk"]

SLOW = 30.0  # the server's delay: far past every deadline below (the server stops waiting when it closes)


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer() as srv:
        yield srv


def _hooks(lib: ModuleType, seen: list[str]) -> Any:
    class Hooks(lib.RunHooks):  # type: ignore[misc,name-defined]
        async def on_agent_start(self, context: Any, agent: Any) -> None:
            seen.append("agent_start")

        async def on_llm_start(self, context: Any, agent: Any, *args: Any) -> None:
            seen.append("llm_start")

        async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
            seen.append("llm_end")

        async def on_agent_end(self, context: Any, agent: Any, output: Any) -> None:
            seen.append("agent_end")

    return Hooks()


def _caught(exc: BaseException) -> dict[str, Any]:
    run_data = getattr(exc, "run_data", None)
    return {"type": type(exc).__name__, "message": str(exc), "seconds": getattr(exc, "timeout_seconds", None),
            "cause": exc.__cause__, "last_agent": getattr(getattr(run_data, "last_agent", None), "name", None)}


def _handlers(seen: list[str]) -> dict[str, Any]:
    def handler(data: Any) -> Any:
        seen.append("error_handler")
        return "handled"

    return {"max_turns": handler, "model_refusal": handler, "invalid_final_output": handler}


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "not streamed"])
async def test_a_model_call_past_its_timeout_fails_as_in_the_sdk(streamed: bool, api: str) -> None:
    async def scenario(lib: ModuleType, model: Any) -> dict[str, Any]:
        seen: list[str] = []
        agent = lib.Agent(name="Slow", model=model, model_settings=lib.ModelSettings(timeout=0.3))
        config = no_trace(lib)
        events: list[tuple[str, ...]] = []
        try:
            if streamed:
                result = lib.Runner.run_streamed(agent, "hi", run_config=config, hooks=_hooks(lib, seen),
                                                 error_handlers=_handlers(seen))
                async for event in result.stream_events():
                    events.append(signature(event))
            else:
                await lib.Runner.run(agent, "hi", run_config=config, hooks=_hooks(lib, seen),
                                     error_handlers=_handlers(seen))
        except Exception as exc:  # noqa: BLE001 - compared across the two libraries
            # raw events: as many as arrived within 0.3 s (depends on the machine's load), not compared
            return {**_caught(exc), "seen": seen, "events": items_only(events)}
        return {"type": None, "seen": seen, "events": items_only(events)}

    theirs, mine = await both(scenario, [Reply.text("too late", ttft=SLOW)], api=api)
    assert theirs.value["type"] == "ModelTimeoutError"  # the scenario does show the SDK's behaviour
    assert mine.value == theirs.value
    assert mine.value["message"] == "Model call timed out after 0.3 seconds."
    assert mine.value["seen"] == ["agent_start", "llm_start"]  # no llm_end, no agent_end, no error handler
    # no retry of a timed-out call (on a loaded machine the deadline may pass before the server read the request)
    assert len(mine.requests) <= 1 and len(theirs.requests) <= 1


async def test_the_deadline_covers_the_whole_stream_as_in_the_sdk() -> None:
    """The first delta arrives well within the deadline (3 s: a margin for a loaded machine), the next long
    after it: the call times out mid-stream, after the events that did arrive were delivered."""

    async def scenario(lib: ModuleType, model: Any) -> dict[str, Any]:
        agent = lib.Agent(name="Slow", model=model, model_settings=lib.ModelSettings(timeout=3.0))
        result = lib.Runner.run_streamed(agent, "hi", run_config=no_trace(lib))
        events: list[tuple[str, ...]] = []
        try:
            async for event in result.stream_events():
                events.append(signature(event))
        except Exception as exc:  # noqa: BLE001 - compared across the two libraries
            return {**_caught(exc), "events": events}
        return {"type": None, "events": events}

    theirs, mine = await both(scenario, [Reply.text("first second", gap=SLOW)])
    assert theirs.value["type"] == "ModelTimeoutError"
    assert mine.value == theirs.value
    assert ("raw", "response.output_text.delta") in mine.value["events"]


async def test_a_call_within_its_timeout_is_not_cut(server: OpenAICompatServer) -> None:
    server.add(Reply.text("in time", ttft=0.05))
    agent = Agent(name="Quick", model=make_model(ours(), "responses", server),
                  model_settings=ModelSettings(timeout=20))
    result = await Runner.run(agent, "hi")
    assert result.final_output == "in time"


async def test_a_run_config_timeout_applies_to_every_agent(server: OpenAICompatServer) -> None:
    server.add(Reply.text("too late", ttft=SLOW))
    agent = Agent(name="Slow", model=make_model(ours(), "responses", server))
    with pytest.raises(ModelTimeoutError) as caught:
        await Runner.run(agent, "hi", run_config=RunConfig(model_settings=ModelSettings(timeout=0.2)))
    assert caught.value.timeout_seconds == 0.2


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), "1", True])
def test_a_timeout_that_is_not_a_positive_finite_number_is_refused(bad: Any) -> None:
    with pytest.raises(UserError, match="ModelSettings.timeout must be a finite number of seconds greater than 0"):
        ModelSettings(timeout=bad)


def test_model_timeout_error_is_exported_where_the_sdk_exports_it() -> None:
    assert otelagents.ModelTimeoutError is otelagents.exceptions.ModelTimeoutError
    assert issubclass(ModelTimeoutError, otelagents.AgentsException)
    assert str(ModelTimeoutError(2.0)) == "Model call timed out after 2 seconds."


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "not streamed"])
async def test_the_timed_out_call_ends_its_spans_with_model_timeout_error(
        streamed: bool, server: OpenAICompatServer) -> None:
    rig = make_rig()
    server.add(Reply.text("too late", ttft=SLOW))
    agent = Agent(name="Slow", model=make_model(ours(), "responses", server),
                  model_settings=ModelSettings(timeout=0.3))
    config = RunConfig(observers=[rig.telemetry])
    with pytest.raises(ModelTimeoutError):
        if streamed:
            result = Runner.run_streamed(agent, "hi", run_config=config)
            try:
                await drain(result)
            finally:
                await wait_done(result)
        else:
            await Runner.run(agent, "hi", run_config=config)
    [run] = tree(rig.spans())
    [agent_node] = run[4]
    [chat] = agent_node[4]
    assert [node[2:4] for node in (run, agent_node)] == [("ERROR", "ModelTimeoutError")] * 2
    assert chat[:4] == ("chat gpt-test", "CLIENT", "ERROR", "ModelTimeoutError")
    assert (rig.span("chat gpt-test").attributes or {})[sc.ERROR_TYPE] == "ModelTimeoutError"
    assert rig.tracker.open == {}


async def test_the_sdk_plugin_ends_a_timed_out_non_streamed_call_with_model_timeout_error(sdk: SDKRig) -> None:
    import agents

    sdk.server.add(Reply.text("too late", ttft=SLOW))
    agent = agents.Agent(name="Slow", model=sdk.model("responses"), model_settings=agents.ModelSettings(timeout=0.3))
    with pytest.raises(agents.ModelTimeoutError):
        await agents.Runner.run(agent, "hi")
    assert (sdk.rig.span("chat gpt-4.1").attributes or {})[sc.ERROR_TYPE] == "ModelTimeoutError"
    assert_all_closed(sdk.rig)


class SlowOwnResponseModel(Model):
    """A user's model that implements only ``get_response`` and answers after ``delay`` seconds; with
    ``swallow`` it ignores its cancellation and answers anyway (the deadline must still hold)."""

    def __init__(self, delay: float, swallow: bool = False) -> None:
        self.delay = delay
        self.swallow = swallow
        self.cancelled = False

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled = True
            if not self.swallow:
                raise
        return ModelResponse(output=[], usage=Usage(), response_id=None)


@pytest.mark.parametrize("swallow", [False, True], ids=["cancelled", "swallows its cancellation"])
async def test_a_models_own_get_response_is_bounded_by_the_timeout(swallow: bool) -> None:
    model = SlowOwnResponseModel(SLOW, swallow=swallow)
    agent = Agent(name="Own", model=model, model_settings=ModelSettings(timeout=0.2))
    with pytest.raises(ModelTimeoutError, match=r"Model call timed out after 0\.2 seconds\."):
        await asyncio.wait_for(Runner.run(agent, "hi"), 20)
    assert model.cancelled
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # our own cancel request was taken back


async def test_a_hosted_call_cut_by_the_deadline_ends_with_model_timeout_error(server: OpenAICompatServer) -> None:
    rig = make_rig()
    frames = hosted_items_reply("never sent", [{"id": "ws_1", "type": "web_search_call"}]).raw_frames or ()
    # response.created and the call's item added at once; the rest long after the deadline
    server.add(Reply.raw_sse([frames[0] + frames[1], *frames[2:]], gap=SLOW))
    agent = Agent(name="Searcher", model=make_model(ours(), "responses", server), tools=[WebSearchTool()],
                  model_settings=ModelSettings(timeout=2.0))
    result = Runner.run_streamed(agent, "search", run_config=RunConfig(observers=[rig.telemetry]))
    with pytest.raises(ModelTimeoutError):
        await drain(result)
    await wait_done(result)
    assert (rig.span("execute_tool web_search").attributes or {})[sc.ERROR_TYPE] == "ModelTimeoutError"
    assert rig.tracker.open == {}
