"""``OpenAIChatCompletionsModel``: Chat Completions (``POST /chat/completions``, streamed), presented as the
same Responses events the Responses API would send (see ``_chat_stream``).

Usage is requested by default (``stream_options.include_usage``, reference §10.3); set
``ModelSettings(include_usage=False)`` for servers that reject it, and usage is then recorded as unknown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import openai
from openai.types.responses import ResponseStreamEvent

from ..exceptions import ModelBehaviorError
from ._chat_input import to_chat_messages
from ._chat_stream import ChatStreamConverter
from ._openai_http import (
    close_stream,
    describe_client,
    function_tools,
    iter_bytes,
    merge_extra_args,
    open_stream,
    to_plain,
)
from ._sse import aiter_sse
from .interface import Model, ModelInfo, ModelTracing

if TYPE_CHECKING:
    from ..agent_output import AgentOutputSchema
    from ..handoffs import Handoff
    from ..items import TResponseInputItem
    from ..model_settings import ModelSettings
    from ..tool import Tool

_SIMPLE_SETTINGS = ("temperature", "top_p", "frequency_penalty", "presence_penalty", "max_tokens", "metadata",
                    "store", "verbosity")


def build_chat_body(
    model: str,
    system_instructions: str | None,
    input: str | list[TResponseInputItem],
    settings: ModelSettings,
    tools: list[Tool],
    output_schema: AgentOutputSchema | None,
    handoffs: list[Handoff],
) -> dict[str, Any]:
    """The JSON body of one streamed ``POST /chat/completions``: only set settings are sent."""
    body: dict[str, Any] = {"model": model, "messages": to_chat_messages(system_instructions, input)}
    chat_tools = [
        {"type": "function", "function": {"name": name, "description": description, "parameters": parameters,
                                          "strict": strict}}
        for name, description, parameters, strict in function_tools(tools, handoffs)
    ]
    if chat_tools:
        body["tools"] = chat_tools
        if settings.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = settings.parallel_tool_calls
    body["stream"] = True
    if settings.include_usage is not False:
        body["stream_options"] = {"include_usage": True}
    for name in _SIMPLE_SETTINGS:
        value = getattr(settings, name)
        if value is not None:
            body[name] = value
    if settings.tool_choice is not None:
        choice = settings.tool_choice
        body["tool_choice"] = choice if choice in ("auto", "required", "none") else {
            "type": "function", "function": {"name": choice}}
    if output_schema is not None and not output_schema.is_plain_text():
        body["response_format"] = {"type": "json_schema", "json_schema": {
            "name": "final_output", "strict": output_schema.is_strict_json_schema(),
            "schema": output_schema.json_schema()}}
    if settings.reasoning is not None:
        effort = to_plain(settings.reasoning)
        effort = effort.get("effort") if isinstance(effort, dict) else getattr(effort, "effort", None)
        if effort is not None:
            body["reasoning_effort"] = effort
    if settings.top_logprobs is not None:
        body["logprobs"] = True
        body["top_logprobs"] = settings.top_logprobs
    merge_extra_args(body, settings)
    return body


class OpenAIChatCompletionsModel(Model):
    """A model served by the Chat Completions API of ``openai_client`` (any OpenAI-compatible server)."""

    def __init__(
        self,
        model: str,
        openai_client: openai.AsyncOpenAI,
        should_replay_reasoning_content: Any = None,
        strict_feature_validation: bool = False,
        buffer_streamed_tool_calls: bool = False,
    ) -> None:
        # The SDK's keyword arguments are accepted so its code runs unchanged; otelagents always streams
        # tool-call arguments as they arrive and does not replay reasoning content.
        self.model = model
        self._client = openai_client
        self.should_replay_reasoning_content = should_replay_reasoning_content
        self._strict_feature_validation = strict_feature_validation
        self._buffer_streamed_tool_calls = buffer_streamed_tool_calls

    def describe(self) -> ModelInfo:
        return describe_client(self._client, self.model, "chat_completions")

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchema | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: Any = None,
    ) -> AsyncIterator[ResponseStreamEvent]:
        body = build_chat_body(self.model, system_instructions, input, model_settings, tools, output_schema,
                               handoffs)
        response = await open_stream(self._client, "/chat/completions", body, model_settings)
        chunks = iter_bytes(response, "The Chat Completions stream")
        batches = aiter_sse(chunks)
        converter = ChatStreamConverter(self.model)
        finished = False
        try:
            async for batch in batches:
                for _name, data in batch:
                    if data == b"[DONE]":
                        if converter.builder is not None:
                            for event in converter.finish():
                                yield event
                            finished = True
                            return
                        break
                    for event in converter.feed(data):
                        yield event
                    if converter.terminal:
                        return
            if converter.finish_reason is not None:  # some servers end the body without [DONE]
                for event in converter.finish():
                    yield event
                finished = True
                return
            raise ModelBehaviorError(
                f"The Chat Completions stream from {response.request.url} ended without a finish_reason or "
                "[DONE]: connection closed before the response completed."
            )
        finally:
            await close_stream(response, [batches, chunks], drain=finished)
