"""``OpenAIProvider`` and the process-wide OpenAI defaults."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import openai
import pytest

from otelagents.exceptions import UserError
from otelagents.model_settings import ModelSettings
from otelagents.models import openai_provider as provider_module
from otelagents.models.interface import ModelTracing
from otelagents.models.openai_chatcompletions import OpenAIChatCompletionsModel
from otelagents.models.openai_provider import (
    OpenAIProvider,
    get_default_openai_api,
    reset_default_client,
    set_default_openai_api,
    set_default_openai_client,
    set_default_openai_key,
)
from otelagents.models.openai_responses import OpenAIResponsesModel
from otelagents.testing.server import OpenAICompatServer, Reply


@pytest.fixture(autouse=True)
def clean_defaults(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_DEFAULT_MODEL"):
        monkeypatch.delenv(name, raising=False)
    reset_default_client()
    monkeypatch.setattr(provider_module._defaults, "key", None)
    yield
    reset_default_client()
    set_default_openai_api("responses")


def test_model_names_and_default_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    provider = OpenAIProvider()
    model = provider.get_model(None)
    assert isinstance(model, OpenAIResponsesModel) and model.model == "gpt-5.6-luna"  # the SDK 0.24.0 default
    monkeypatch.setenv("OPENAI_DEFAULT_MODEL", "gpt-env")
    assert provider.get_model(None).model == "gpt-env"  # type: ignore[attr-defined]
    assert provider.get_model("gpt-named").model == "gpt-named"  # type: ignore[attr-defined]
    set_default_openai_api("chat_completions")
    assert get_default_openai_api() == "chat_completions"
    assert isinstance(provider.get_model("x"), OpenAIChatCompletionsModel)
    assert isinstance(OpenAIProvider(use_responses=True).get_model("x"), OpenAIResponsesModel)


def test_bad_api_lists_the_choices() -> None:
    with pytest.raises(UserError, match="'responses', 'chat_completions'"):
        set_default_openai_api("completions")  # type: ignore[arg-type]


def test_missing_key_is_a_clear_user_error_at_lookup_not_before() -> None:
    provider = OpenAIProvider.shared()  # constructing needs no key
    with pytest.raises(UserError, match="OPENAI_API_KEY.*OPENAI_BASE_URL"):
        provider.get_model("gpt-4.1")


def test_base_url_without_key_uses_a_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    client = OpenAIProvider().client()
    assert client.api_key == provider_module.PLACEHOLDER_KEY
    assert str(client.base_url) == "http://127.0.0.1:9/v1/"
    info = OpenAIProvider().get_model("m").describe()
    assert (info.server_address, info.server_port, info.api) == ("127.0.0.1", 9, "responses")


def test_set_default_key_and_client(monkeypatch: pytest.MonkeyPatch) -> None:
    set_default_openai_key("sk-from-code")
    assert OpenAIProvider().client().api_key == "sk-from-code"
    mine = openai.AsyncOpenAI(api_key="sk-mine", base_url="http://127.0.0.1:8/v1")
    set_default_openai_client(mine)
    assert OpenAIProvider().client() is mine
    with pytest.raises(UserError):
        set_default_openai_client("not a client")  # type: ignore[arg-type]


def test_provider_with_its_own_base_url() -> None:
    provider = OpenAIProvider(base_url="http://127.0.0.1:7/v1", api_key="k")
    assert provider.get_model("m").describe().server_port == 7


def test_each_event_loop_gets_its_own_default_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """``run_sync`` twice must work: a client's pooled connections belong to the loop that opened them."""
    with OpenAICompatServer(responder=lambda request: Reply.text("Hello")) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        clients = []

        async def one_call() -> str:
            model = OpenAIProvider.shared().get_model("gpt-test")
            clients.append(model._client)  # type: ignore[attr-defined]
            events = [ev async for ev in model.stream_response(None, "Hi", ModelSettings(), [], None, [],
                                                               ModelTracing.DISABLED)]
            return events[-1].type

        assert [asyncio.run(one_call()) for _ in range(3)] == ["response.completed"] * 3
        assert len({id(c) for c in clients}) == 3
        assert server.requests[0].headers["authorization"] == f"Bearer {provider_module.PLACEHOLDER_KEY}"
