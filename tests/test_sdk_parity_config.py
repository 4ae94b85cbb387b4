"""Run settings checked against the real ``openai-agents==0.24.0`` (issue 16, differences 3, 8 and 10).

``max_turns=0`` and ``error_handlers``, ``RunConfig.call_model_input_filter``, and a custom ``Model``
that implements ``get_response`` (``Runner.run`` calls it, as the SDK does).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from openai.types.responses import ResponseOutputMessage, ResponseOutputText
from pydantic import BaseModel

import otelagents
from otelagents import Agent, Runner, UserError
from otelagents.run_error_handlers import RunErrorHandlerResult
from otelagents.testing.server import Reply

from .sdk_parity import both, error_name, items_only, no_trace, signature


async def _outcome(lib: ModuleType, agent: Any, *, streamed: bool, **kwargs: Any) -> Any:
    """(events, final_output, new item types, error name) of one run."""
    events: list[tuple[str, ...]] = []
    error = None
    kwargs.setdefault("run_config", no_trace(lib))
    if streamed:
        result = lib.Runner.run_streamed(agent, "go", **kwargs)
        try:
            async for event in result.stream_events():
                events.append(signature(event))
        except Exception as exc:  # noqa: BLE001 - compared by name
            error = exc
        return items_only(events), result.final_output, [i.type for i in result.new_items], error_name(error)
    try:
        done = await lib.Runner.run(agent, "go", **kwargs)
    except Exception as exc:  # noqa: BLE001 - compared by name
        return [], None, [], error_name(exc)
    return [], done.final_output, [i.type for i in done.new_items], None


# --- 3. max_turns=0 and error handlers ------------------------------------------------------------


@pytest.mark.parametrize("streamed", [True, False])
@pytest.mark.parametrize("max_turns", [0, 1])
async def test_max_turns_exhausted_raises_max_turns_exceeded(streamed: bool, max_turns: int) -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        @lib.function_tool
        def ping() -> str:
            """Ping."""
            return "pong"

        agent = lib.Agent(name="a", model=model, tools=[ping])
        return await _outcome(lib, agent, streamed=streamed, max_turns=max_turns)

    sdk, ours = await both(scenario, [Reply.tool_calls([("ping", {})]), Reply.text("done")])
    assert ours.value == sdk.value
    assert ours.value[-1] == "MaxTurnsExceeded"
    assert len(ours.requests) == len(sdk.requests) == max_turns


def _fallback(handler_result: Any) -> Any:
    def handler(data: Any) -> Any:
        assert type(data.error).__name__ == "MaxTurnsExceeded"
        assert data.run_data.last_agent.name == "a"
        return handler_result(data) if callable(handler_result) else handler_result

    return handler


@pytest.mark.parametrize("streamed", [True, False])
@pytest.mark.parametrize("answer", ["plain", "result_out_of_history", "dict", "none"])
async def test_max_turns_error_handler_answers_with_a_final_output(streamed: bool, answer: str) -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        from agents.run_error_handlers import RunErrorHandlerResult as SdkResult

        kinds = {
            "plain": "fallback",
            "result_out_of_history": (RunErrorHandlerResult if lib is otelagents else SdkResult)(
                final_output="quiet", include_in_history=False),
            "dict": {"final_output": "from dict"},
            "none": None,
        }
        agent = lib.Agent(name="a", model=model)
        return await _outcome(lib, agent, streamed=streamed, max_turns=0,
                              error_handlers={"max_turns": _fallback(kinds[answer])})

    sdk, ours = await both(scenario, [Reply.text("never asked")])
    assert ours.value == sdk.value
    if answer == "none":
        assert ours.value[-1] == "MaxTurnsExceeded"
    else:
        assert ours.value[-1] is None and ours.value[1] in ("fallback", "quiet", "from dict")
    assert ours.requests == sdk.requests == []


class Answer(BaseModel):
    value: int


@pytest.mark.parametrize("streamed", [True, False])
async def test_invalid_final_output_handler_replaces_the_unparseable_answer(streamed: bool) -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        agent = lib.Agent(name="a", model=model, output_type=Answer)
        handlers = {"invalid_final_output": lambda data: {"value": 7}}
        events, final, items, error = await _outcome(lib, agent, streamed=streamed, error_handlers=handlers)
        return events, final, items, error

    sdk, ours = await both(scenario, [Reply.text("not json at all")])
    assert ours.value == sdk.value
    assert ours.value[1] == Answer(value=7)


async def test_invalid_final_output_without_a_handler_is_a_model_behavior_error() -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        agent = lib.Agent(name="a", model=model, output_type=Answer)
        return await _outcome(lib, agent, streamed=True)

    sdk, ours = await both(scenario, [Reply.text("not json at all")])
    assert ours.value == sdk.value
    assert ours.value[-1] == "ModelBehaviorError"


async def test_error_handlers_are_checked_up_front() -> None:
    agent = Agent(name="a")
    with pytest.raises(UserError, match="Unknown error handler kind 'max_turn'"):
        await Runner.run(agent, "go", error_handlers={"max_turn": print})  # type: ignore[dict-item]
    with pytest.raises(UserError, match="must be callable"):
        Runner.run_streamed(agent, "go", error_handlers={"max_turns": "fallback"})  # type: ignore[typeddict-item]


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")  # the SDK's own dump warns
async def test_a_handler_output_that_does_not_fit_the_output_type_is_a_user_error() -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        agent = lib.Agent(name="a", model=model, output_type=Answer)
        return await _outcome(lib, agent, streamed=False, max_turns=0,
                              error_handlers={"max_turns": lambda data: {"value": "not a number"}})

    sdk, ours = await both(scenario, [])
    assert ours.value == sdk.value == ([], None, [], "UserError")


# --- 8. call_model_input_filter -----------------------------------------------------------------


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_call_model_input_filter_changes_what_the_model_is_sent(asynchronous: bool) -> None:
    seen: list[Any] = []

    async def scenario(lib: ModuleType, model: Any) -> Any:
        from agents.run_config import ModelInputData as SdkInputData

        data_type = otelagents.run_config.ModelInputData if lib is otelagents else SdkInputData

        def keep_last(call: Any) -> Any:
            seen.append((lib.__name__, call.agent.name, call.context, len(call.model_data.input)))
            return data_type(input=call.model_data.input[-1:], instructions="Be brief.")

        async def keep_last_async(call: Any) -> Any:
            return keep_last(call)

        @lib.function_tool
        def ping() -> str:
            """Ping."""
            return "pong"

        agent = lib.Agent(name="a", instructions="Long instructions.", model=model, tools=[ping])
        config = no_trace(lib, call_model_input_filter=keep_last_async if asynchronous else keep_last)
        result = await lib.Runner.run(agent, "go", run_config=config, context={"user": 1})
        return result.final_output

    sdk, ours = await both(scenario, [Reply.tool_calls([("ping", {})]), Reply.text("done")])
    assert ours.value == sdk.value == "done"
    for theirs, mine in zip(sdk.requests, ours.requests, strict=True):
        assert mine["input"] == theirs["input"] and mine["instructions"] == theirs["instructions"] == "Be brief."
    assert len(ours.requests[1]["input"]) == 1
    assert [s[1:] for s in seen if s[0] == "otelagents"] == [s[1:] for s in seen if s[0] == "agents"]


async def test_call_model_input_filter_must_return_model_input_data() -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        agent = lib.Agent(name="a", model=model)
        return await _outcome(lib, agent, streamed=True,
                              run_config=no_trace(lib, call_model_input_filter=lambda call: None))

    sdk, ours = await both(scenario, [Reply.text("x")])
    assert ours.value == sdk.value
    assert ours.value[-1] == "UserError"


# --- 10. a custom Model's own get_response ---------------------------------------------------------


def _answering_model(lib: ModuleType, text: str, calls: list[str]) -> Any:
    class Answering(lib.Model):  # type: ignore[name-defined,misc]
        async def get_response(self, *args: Any, **kwargs: Any) -> Any:
            calls.append("get_response")
            message = ResponseOutputMessage(
                id="msg_1", type="message", role="assistant", status="completed",
                content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
            )
            return lib.ModelResponse(output=[message], usage=lib.Usage(), response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            calls.append("stream_response")
            raise NotImplementedError("this model does not stream")

    return Answering()


async def test_runner_run_calls_a_custom_models_get_response() -> None:
    calls: dict[str, list[str]] = {"agents": [], "otelagents": []}

    async def scenario(lib: ModuleType, model: Any) -> Any:
        agent = lib.Agent(name="a", model=_answering_model(lib, "hello", calls[lib.__name__]))
        result = await lib.Runner.run(agent, "go", run_config=no_trace(lib))
        return result.final_output, [i.type for i in result.new_items], result.context_wrapper.usage.requests

    sdk, ours = await both(scenario)
    assert ours.value == sdk.value
    assert ours.value[0] == "hello"
    assert calls["otelagents"] == calls["agents"] == ["get_response"]


async def test_a_model_with_only_get_response_runs_but_cannot_stream() -> None:
    class OnlyWhole(otelagents.Model):
        async def get_response(self, *args: Any, **kwargs: Any) -> Any:
            message = ResponseOutputMessage(
                id="m", type="message", role="assistant", status="completed",
                content=[ResponseOutputText(type="output_text", text="whole", annotations=[])],
            )
            return otelagents.ModelResponse(output=[message], usage=otelagents.Usage(requests=1), response_id="r")

    agent = Agent(name="a", model=OnlyWhole())
    assert (await Runner.run(agent, "go")).final_output == "whole"
    result = Runner.run_streamed(agent, "go")
    with pytest.raises(UserError, match="OnlyWhole does not implement stream_response"):
        async for _ in result.stream_events():
            pass


async def test_get_response_must_return_a_model_response() -> None:
    class Wrong(otelagents.Model):
        async def get_response(self, *args: Any, **kwargs: Any) -> Any:
            return "hello"

    with pytest.raises(UserError, match="get_response must return a ModelResponse, not str"):
        await Runner.run(Agent(name="a", model=Wrong()), "go")


# --- 8. reasoning_item_id_policy -----------------------------------------------------------------


def _reasoning_then_answer(lib: ModuleType, seen: list[Any]) -> Any:
    from openai.types.responses import ResponseFunctionToolCall, ResponseReasoningItem

    class Reasoning(lib.Model):  # type: ignore[name-defined,misc]
        async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append([dict(i) if isinstance(i, dict) else i for i in input])
            if len(seen) == 1:
                output: list[Any] = [
                    ResponseReasoningItem(id="rs_1", type="reasoning", summary=[]),
                    ResponseFunctionToolCall(type="function_call", name="ping", call_id="c1", arguments="{}"),
                ]
            else:
                output = [ResponseOutputMessage(id="m", type="message", role="assistant", status="completed",
                                                content=[ResponseOutputText(type="output_text", text="ok",
                                                                            annotations=[])])]
            return lib.ModelResponse(output=output, usage=lib.Usage(), response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    return Reasoning()


@pytest.mark.parametrize("policy", ["omit", "preserve", None])
async def test_reasoning_item_id_policy_decides_whether_reasoning_ids_are_sent_back(policy: str | None) -> None:
    seen: dict[str, list[Any]] = {"agents": [], "otelagents": []}

    async def scenario(lib: ModuleType, model: Any) -> Any:
        @lib.function_tool
        def ping() -> str:
            """Ping."""
            return "pong"

        agent = lib.Agent(name="a", model=_reasoning_then_answer(lib, seen[lib.__name__]), tools=[ping])
        result = await lib.Runner.run(agent, "go", run_config=no_trace(lib, reasoning_item_id_policy=policy))
        return result.final_output

    sdk, ours = await both(scenario)
    assert ours.value == sdk.value == "ok"
    reasoning = [i for i in seen["otelagents"][1] if i.get("type") == "reasoning"]
    assert reasoning == [i for i in seen["agents"][1] if i.get("type") == "reasoning"]
    assert ("id" in reasoning[0]) == (policy != "omit")


@pytest.mark.parametrize("streamed", [True, False])
@pytest.mark.parametrize("handled", [True, False])
async def test_model_refusal_handler_answers_for_a_refusal(streamed: bool, handled: bool) -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        agent = lib.Agent(name="a", model=model)
        handlers = {"model_refusal": lambda data: f"handled: {type(data.error).__name__}"} if handled else None
        return await _outcome(lib, agent, streamed=streamed, error_handlers=handlers)

    sdk, ours = await both(scenario, [Reply.refusal("I cannot help with that.")])
    assert ours.value == sdk.value
    assert ours.value[-1] == (None if handled else "ModelRefusalError")
    if handled:
        assert ours.value[1] == "handled: ModelRefusalError"
