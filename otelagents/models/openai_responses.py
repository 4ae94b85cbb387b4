"""``OpenAIResponsesModel``: the OpenAI Responses API (``POST /responses``, streamed).

The request goes through the ``openai`` client (auth, base URL, retries, error mapping); the SSE body is
read and decoded here, which is several times faster than the client's own per-event parsing (see
``_decode``). Events are yielded unchanged, as genuine ``openai`` instances, in server order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import openai
from openai.types.responses import ResponseStreamEvent

from .._hosted_tools import HOSTED_TOOLS
from ..exceptions import ModelBehaviorError
from ._decode import TERMINAL_EVENT_TYPES, decode_event
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

_SIMPLE_SETTINGS = ("temperature", "top_p", "parallel_tool_calls", "truncation", "metadata", "store",
                    "prompt_cache_retention", "prompt_cache_options", "context_management")


def _responses_tools(tools: list[Tool], handoffs: list[Handoff], include: list[str]) -> list[dict[str, Any]]:
    """The request's tools in the agent's order (hosted tools as the API names them), then the handoffs.

    A hosted tool that asks for extra output (e.g. file search results) adds it to ``include``."""
    out: list[dict[str, Any]] = []
    functions = iter(function_tools([t for t in tools if not isinstance(t, HOSTED_TOOLS)], handoffs))
    for tool in tools:
        if isinstance(tool, HOSTED_TOOLS):
            param, extra = tool.to_param()
            out.append(param)
            if extra is not None and extra not in include:
                include.append(extra)
            continue
        name, description, parameters, strict = next(functions)
        out.append({"type": "function", "name": name, "description": description, "parameters": parameters,
                    "strict": strict})
    out.extend({"type": "function", "name": name, "description": description, "parameters": parameters,
                "strict": strict} for name, description, parameters, strict in functions)
    return out


def build_responses_body(
    model: str,
    system_instructions: str | None,
    input: str | list[TResponseInputItem],
    settings: ModelSettings,
    tools: list[Tool],
    output_schema: AgentOutputSchema | None,
    handoffs: list[Handoff],
    *,
    previous_response_id: str | None = None,
    conversation_id: str | None = None,
    prompt: Any = None,
) -> dict[str, Any]:
    """The JSON body of one streamed ``POST /responses`` (reference §10.2): only set settings are sent."""
    include = list(settings.response_include or [])
    body: dict[str, Any] = {
        "model": model,
        "input": input if isinstance(input, str) else [to_plain(item) for item in input],
        "include": include,
        "tools": _responses_tools(tools, handoffs, include),
        "stream": True,
    }
    if system_instructions is not None:
        body["instructions"] = system_instructions
    for name in _SIMPLE_SETTINGS:
        value = getattr(settings, name)
        if value is not None:
            body[name] = value
    if settings.max_tokens is not None:
        body["max_output_tokens"] = settings.max_tokens
    if settings.tool_choice is not None:
        choice = settings.tool_choice
        body["tool_choice"] = choice if choice in ("auto", "required", "none") else {"type": "function",
                                                                                      "name": choice}
    if settings.reasoning is not None:
        body["reasoning"] = to_plain(settings.reasoning)
    if settings.top_logprobs is not None:
        body["top_logprobs"] = settings.top_logprobs
        if "message.output_text.logprobs" not in include:
            include.append("message.output_text.logprobs")
    text: dict[str, Any] = {}
    if output_schema is not None and not output_schema.is_plain_text():
        text["format"] = {"type": "json_schema", "name": "final_output", "schema": output_schema.json_schema(),
                          "strict": output_schema.is_strict_json_schema()}
    if settings.verbosity is not None:
        text["verbosity"] = settings.verbosity
    if text:
        body["text"] = text
    if previous_response_id is not None:
        body["previous_response_id"] = previous_response_id
    if conversation_id is not None:
        body["conversation"] = conversation_id
    if prompt is not None:
        body["prompt"] = to_plain(prompt)
    merge_extra_args(body, settings)
    return body


class OpenAIResponsesModel(Model):
    """A model served by the Responses API of ``openai_client`` (any OpenAI-compatible base URL)."""

    def __init__(self, model: str, openai_client: openai.AsyncOpenAI, *, model_is_explicit: bool = True) -> None:
        self.model = model
        self._client = openai_client
        self._model_is_explicit = model_is_explicit  # the SDK's flag: False when the name is a default

    def describe(self) -> ModelInfo:
        return describe_client(self._client, self.model, "responses")

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
        body = build_responses_body(
            self.model, system_instructions, input, model_settings, tools, output_schema, handoffs,
            previous_response_id=previous_response_id, conversation_id=conversation_id, prompt=prompt,
        )
        response = await open_stream(self._client, "/responses", body, model_settings)
        chunks = iter_bytes(response, "The Responses stream")
        batches = aiter_sse(chunks)
        finished = False
        try:
            async for batch in batches:
                for name, data in batch:
                    if data == b"[DONE]":  # not part of the Responses protocol, but some servers send it
                        break
                    event = decode_event(name, data)
                    yield event
                    if event.type in TERMINAL_EVENT_TYPES:
                        finished = True
                        return
            last = "nothing" if response.num_bytes_downloaded == 0 else "no terminal event"
            raise ModelBehaviorError(
                f"The Responses stream from {response.request.url} ended with {last}: connection closed before "
                "the response completed (expected response.completed, response.failed, response.incomplete "
                "or error)."
            )
        finally:
            await close_stream(response, [batches, chunks], drain=finished)
