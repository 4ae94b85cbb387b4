"""Run items, tool contexts, usage, model constructors and the default model, checked against the real
``openai-agents==0.24.0`` (issue 16, differences 7, 9 and 12)."""

from __future__ import annotations

import gc
from types import ModuleType
from typing import Any

import pytest
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

import otelagents
from otelagents.testing.server import Reply

from .sdk_parity import agents, both, no_trace

LIBS = [pytest.param(agents, id="sdk"), pytest.param(otelagents, id="otelagents")]


# --- 7. run items ---------------------------------------------------------------------------------


def _items_from_dicts(lib: ModuleType) -> Any:
    agent = lib.Agent(name="a")
    call = lib.ToolCallItem(agent=agent, raw_item={"type": "function_call", "name": "lookup", "call_id": "c1",
                                                  "arguments": "{}"}, title="Look up", description="Finds")
    no_call_id = lib.ToolCallItem(agent=agent, raw_item={"type": "function_call", "name": "x", "id": "fc_9"})
    output = lib.ToolCallOutputItem(agent=agent, raw_item={"type": "function_call_output", "call_id": "c1",
                                                           "output": "found"}, output="found",
                                    custom_data={"rows": 3})
    model_call = lib.ToolCallItem(agent=agent, raw_item=ResponseFunctionToolCall(
        type="function_call", name="lookup", call_id="c2", arguments="{}"))
    return (call.tool_name, call.call_id, call.title, call.description, no_call_id.call_id, output.call_id,
            output.custom_data, output.to_input_item(), model_call.tool_name, model_call.call_id)


def test_items_built_from_dicts_expose_tool_name_and_call_id_as_in_the_sdk() -> None:
    assert _items_from_dicts(otelagents) == _items_from_dicts(agents)
    assert _items_from_dicts(otelagents)[:3] == ("lookup", "c1", "Look up")


@pytest.mark.parametrize("lib", LIBS)
def test_release_agent_keeps_the_agent_readable_while_it_lives(lib: ModuleType) -> None:
    agent = lib.Agent(name="short-lived")
    message = ResponseOutputMessage(id="m", type="message", role="assistant", status="completed", content=[])
    item = lib.MessageOutputItem(agent=agent, raw_item=message)
    item.release_agent()
    assert item.agent is agent
    item.release_agent()  # twice is fine
    assert item.agent is agent and item.raw_item is message
    assert "short-lived" in repr(item)


def test_after_release_agent_the_item_no_longer_keeps_the_agent_alive() -> None:
    # (the SDK keeps other references to its agents, so this is checked on otelagents only)
    agent = otelagents.Agent(name="short-lived")
    message = ResponseOutputMessage(id="m", type="message", role="assistant", status="completed", content=[])
    item = otelagents.MessageOutputItem(agent=agent, raw_item=message)
    kept = otelagents.MessageOutputItem(agent=otelagents.Agent(name="kept"), raw_item=message)
    item.release_agent()
    del agent
    gc.collect()
    assert item.agent is None
    assert kept.agent.name == "kept"


def _text_helpers(lib: ModuleType) -> Any:
    none_part = ResponseOutputText.model_construct(type="output_text", text=None, annotations=[])
    empty = ResponseOutputText(type="output_text", text="", annotations=[])
    texts = [ResponseOutputText(type="output_text", text=t, annotations=[]) for t in ("a", "b")]
    messages = [
        ResponseOutputMessage.model_construct(id="m", type="message", role="assistant", status="completed",
                                              content=[none_part]),
        ResponseOutputMessage(id="m", type="message", role="assistant", status="completed", content=[empty]),
        ResponseOutputMessage(id="m", type="message", role="assistant", status="completed", content=texts),
    ]
    helpers = lib.ItemHelpers
    return [(helpers.extract_text(m), helpers.extract_last_content(m), helpers.extract_last_text(m))
            for m in messages]


def test_item_helpers_treat_a_none_or_empty_text_part_as_the_sdk_does() -> None:
    assert _text_helpers(otelagents) == _text_helpers(agents)
    assert _text_helpers(otelagents)[0][0] is None


async def test_items_of_a_run_carry_call_ids_as_in_the_sdk() -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        @lib.function_tool
        def ping() -> str:
            """Ping."""
            return "pong"

        agent = lib.Agent(name="a", model=model, tools=[ping])
        result = await lib.Runner.run(agent, "go", run_config=no_trace(lib))
        return [(i.type, getattr(i, "call_id", "-"), getattr(i, "tool_name", "-")) for i in result.new_items]

    sdk, ours = await both(scenario, [Reply.tool_calls([("ping", {}, "call_p")]), Reply.text("done")])
    assert ours.value == sdk.value
    assert ("tool_call_output_item", "call_p", "-") in ours.value


# --- 9. ToolContext, usage, raw usage, model constructors --------------------------------------------


def _tool_contexts(lib: ModuleType) -> Any:
    from agents.tool_context import ToolContext as SdkToolContext

    tool_context_type = otelagents.tool_context.ToolContext if lib is otelagents else SdkToolContext
    usage = lib.Usage(requests=2)
    call = ResponseFunctionToolCall(type="function_call", name="lookup", call_id="c7", arguments='{"q": 1}')
    positional = tool_context_type({"user": 1}, usage, "lookup", "c7", '{"q": 1}', call)
    base = lib.RunContextWrapper(context={"user": 2}, usage=usage)
    derived = tool_context_type.from_agent_context(base, "c8", call, run_config={"workflow_name": "w"})
    missing = []
    for kwargs in ({"tool_call_id": "c", "tool_arguments": "{}"}, {"tool_name": "n", "tool_arguments": "{}"},
                   {"tool_name": "n", "tool_call_id": "c"}):
        try:
            tool_context_type(context=None, **kwargs)
        except ValueError as exc:
            missing.append(str(exc))
    return (
        (positional.context, positional.usage.requests, positional.tool_name, positional.tool_call_id,
         positional.tool_arguments, positional.tool_call is call, positional.qualified_tool_name),
        (derived.context, derived.usage is usage, derived.tool_name, derived.tool_call_id, derived.tool_arguments,
         derived.run_config.workflow_name),
        missing,
    )


def test_tool_context_has_the_sdks_constructor_and_from_agent_context() -> None:
    assert _tool_contexts(otelagents) == _tool_contexts(agents)
    assert _tool_contexts(otelagents)[2] == [f"{n} must be passed to ToolContext"
                                            for n in ("tool_name", "tool_call_id", "tool_arguments")]


async def test_a_tool_receives_the_call_and_the_run_config() -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        seen: list[Any] = []

        def lookup(ctx: Any, q: str) -> str:
            """Look up."""
            seen.append((type(ctx).__name__, ctx.tool_name, ctx.tool_call_id, ctx.tool_call.call_id,
                         ctx.tool_call.arguments, ctx.run_config.workflow_name, ctx.agent.name))
            return "found"

        lookup.__annotations__["ctx"] = lib.RunContextWrapper[Any]  # each library's own context type
        agent = lib.Agent(name="a", model=model, tools=[lib.function_tool(lookup)])
        await lib.Runner.run(agent, "go", run_config=no_trace(lib, workflow_name="wf"))
        return seen

    sdk, ours = await both(scenario, [Reply.tool_calls([("lookup", {"q": "x"}, "call_l")]), Reply.text("ok")])
    assert ours.value == sdk.value == [("ToolContext", "lookup", "call_l", "call_l", '{"q": "x"}', "wf", "a")]


@pytest.mark.parametrize("preserve", [True, None])
async def test_usage_details_and_raw_usage_as_in_the_sdk(preserve: bool | None) -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        agent = lib.Agent(name="a", model=model, model_settings=lib.ModelSettings(preserve_raw_usage=preserve))
        result = lib.Runner.run_streamed(agent, "go", run_config=no_trace(lib))
        async for _ in result.stream_events():
            pass
        usage = result.context_wrapper.usage
        return (usage.requests, usage.input_tokens, usage.output_tokens, usage.total_tokens,
                usage.input_tokens_details.cached_tokens, usage.input_tokens_details.cache_write_tokens,
                usage.output_tokens_details.reasoning_tokens, result.raw_responses[0].raw_usage)

    sdk, ours = await both(scenario, [Reply.text("one two three", usage=(20, 3, 5, 1))])
    assert ours.value == sdk.value
    assert ours.value[4] == 5
    assert (ours.value[-1] is None) == (preserve is None)


async def test_model_constructors_take_the_sdks_keyword_arguments() -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        client = model._client
        chat = lib.OpenAIChatCompletionsModel(model="gpt-test", openai_client=client,
                                              should_replay_reasoning_content=None,
                                              strict_feature_validation=False, buffer_streamed_tool_calls=True)
        responses = lib.OpenAIResponsesModel(model="gpt-test", openai_client=client, model_is_explicit=False)
        answers = []
        for each in (chat, responses):
            result = await lib.Runner.run(lib.Agent(name="a", model=each), "go", run_config=no_trace(lib))
            answers.append(result.final_output)
        return answers

    sdk, ours = await both(scenario, [Reply.text("chat"), Reply.text("responses")] * 1)
    assert ours.value == sdk.value == ["chat", "responses"]


# --- 12. the default model ------------------------------------------------------------------------


@pytest.mark.parametrize("env", [None, "GPT-5.4-Mini", "gpt-4o"])
async def test_the_default_model_and_its_settings_are_the_sdks(env: str | None, monkeypatch: Any) -> None:
    if env is None:
        monkeypatch.delenv("OPENAI_DEFAULT_MODEL", raising=False)
    else:
        monkeypatch.setenv("OPENAI_DEFAULT_MODEL", env)

    async def scenario(lib: ModuleType, model: Any) -> Any:
        provider = lib.OpenAIProvider(openai_client=model._client)
        unnamed = lib.Agent(name="a")
        named = lib.Agent(name="b", model="gpt-5.2-pro")
        explicit = lib.Agent(name="c", model="gpt-5.2-pro", model_settings=lib.ModelSettings(temperature=0.5))
        for agent in (unnamed, named, explicit):
            await lib.Runner.run(agent, "go", run_config=no_trace(lib, model_provider=provider))
        return None

    sdk, ours = await both(scenario, [Reply.text("x")] * 3)
    keys = ("model", "reasoning", "text", "temperature")
    for theirs, mine in zip(sdk.requests, ours.requests, strict=True):
        assert {k: mine.get(k) for k in keys} == {k: theirs.get(k) for k in keys}
    expected = (env or "gpt-5.6-luna").lower()
    assert ours.requests[0]["model"] == expected
    from agents.models.default_models import get_default_model as sdk_default

    from otelagents.models.default_models import get_default_model
    assert get_default_model() == sdk_default() == expected


@pytest.mark.parametrize("name", ["gpt-5", "gpt-5.1", "gpt-5.2-pro", "gpt-5-chat-latest", "gpt-5-nano",
                                  "gpt-4.1", "gpt-5.6-luna-2026-01-01"])
def test_default_model_settings_per_name_are_the_sdks(name: str) -> None:
    from agents.models.default_models import get_default_model_settings as sdk_settings

    from otelagents.models.default_models import get_default_model_settings

    ours, theirs = get_default_model_settings(name), sdk_settings(name)
    assert (ours.reasoning, ours.verbosity) == (theirs.reasoning, theirs.verbosity)


def _agent_settings(lib: ModuleType) -> Any:
    class Custom(lib.Model):  # type: ignore[name-defined,misc]
        async def get_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    agents_ = [lib.Agent(name="a"), lib.Agent(name="b", model="gpt-4o"), lib.Agent(name="c", model="gpt-5.2-pro"),
               lib.Agent(name="d", model=Custom()),
               lib.Agent(name="e", model="gpt-4o", model_settings=lib.ModelSettings(temperature=0.1))]
    return [(a.model_settings.reasoning, a.model_settings.verbosity, a.model_settings.temperature) for a in agents_]


def test_an_agents_default_model_settings_are_the_sdks(monkeypatch: Any) -> None:
    monkeypatch.delenv("OPENAI_DEFAULT_MODEL", raising=False)
    assert _agent_settings(otelagents) == _agent_settings(agents)
    assert _agent_settings(otelagents)[0][1] == "low"


async def test_an_explicit_empty_model_settings_gets_no_defaults_as_in_the_sdk(monkeypatch: Any) -> None:
    monkeypatch.delenv("OPENAI_DEFAULT_MODEL", raising=False)

    async def scenario(lib: ModuleType, model: Any) -> Any:
        provider = lib.OpenAIProvider(openai_client=model._client)
        agent = lib.Agent(name="a", model_settings=lib.ModelSettings())
        await lib.Runner.run(agent, "go", run_config=no_trace(lib, model_provider=provider))

    sdk, ours = await both(scenario, [Reply.text("x")])
    keys = ("model", "reasoning", "text")
    assert {k: ours.requests[0].get(k) for k in keys} == {k: sdk.requests[0].get(k) for k in keys}


# --- SDK settings: passed through where the Responses API takes them, refused where not implemented ------


@pytest.mark.parametrize("dynamic", [False, True])
async def test_prompts_and_cache_settings_are_sent_as_the_sdk_sends_them(dynamic: bool) -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        stored = {"id": "pmpt_1", "version": "2", "variables": {"city": "Paris"}}

        async def make(data: Any) -> Any:
            return {**stored, "variables": {"city": data.agent.name}}

        agent = lib.Agent(name="Lyon", model=model, prompt=make if dynamic else stored,
                          model_settings=lib.ModelSettings(prompt_cache_retention="24h"))
        return (await lib.Runner.run(agent, "go", run_config=no_trace(lib))).final_output

    sdk, ours = await both(scenario, [Reply.text("ok")])
    keys = ("prompt", "prompt_cache_retention")
    assert {k: ours.requests[0].get(k) for k in keys} == {k: sdk.requests[0].get(k) for k in keys}
    assert ours.requests[0]["prompt"]["variables"] == {"city": "Lyon" if dynamic else "Paris"}


@pytest.mark.parametrize("behavior", ["raise_error", "return_error_to_model"])
async def test_tool_not_found_behavior_takes_the_sdks_values(behavior: str) -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        agent = lib.Agent(name="a", model=model)
        try:
            result = await lib.Runner.run(agent, "go", run_config=no_trace(lib, tool_not_found_behavior=behavior))
        except Exception as exc:  # noqa: BLE001 - compared by name
            return type(exc).__name__
        return result.final_output

    sdk, ours = await both(scenario, [Reply.tool_calls([("nope", {})]), Reply.text("recovered")])
    assert ours.value == sdk.value == ("ModelBehaviorError" if behavior == "raise_error" else "recovered")


@pytest.mark.parametrize("make", [
    lambda: otelagents.RunConfig(tracing={"api_key": "k"}),
    lambda: otelagents.RunConfig(tool_error_formatter=lambda args: "x"),
    lambda: otelagents.RunConfig(tool_not_found_behavior="ignore"),  # type: ignore[arg-type]
    lambda: otelagents.ModelSettings(retry={"max_retries": 2}),
    lambda: otelagents.Agent(name="a", mcp_servers=[object()]),
])
def test_sdk_settings_otelagents_does_not_implement_are_refused_naming_the_alternative(make: Any) -> None:
    with pytest.raises(otelagents.UserError, match="OpenAIAgentsInstrumentor|raise_error"):
        make()


async def test_release_agents_on_a_result_as_in_the_sdk() -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        agent = lib.Agent(name="a", model=model)
        result = await lib.Runner.run(agent, "go", run_config=no_trace(lib))
        result.release_agents()
        result.release_agents(release_new_items=False)  # twice is fine
        return result.last_agent.name, [item.agent.name for item in result.new_items]

    sdk, ours = await both(scenario, [Reply.text("x")])
    assert ours.value == sdk.value == ("a", ["a"])


async def test_after_release_agents_the_result_no_longer_keeps_agents_alive() -> None:
    from otelagents.testing import ScriptedModel

    agent = otelagents.Agent(name="gone", model=ScriptedModel(["x"]))
    result = await otelagents.Runner.run(agent, "go")
    result.release_agents()
    del agent
    gc.collect()
    assert result.new_items[0].agent is None
    with pytest.raises(otelagents.AgentsException, match="no longer available"):
        _ = result.last_agent
    with pytest.raises(otelagents.UserError, match="to_state.*OpenAIAgentsInstrumentor"):
        result.to_state()
