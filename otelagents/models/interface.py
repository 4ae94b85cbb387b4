"""The model interface: a model streams Responses-API events for one call."""

from __future__ import annotations

import abc
import enum
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openai.types.responses import ResponseStreamEvent

from ..exceptions import ModelBehaviorError
from ..usage import Usage

if TYPE_CHECKING:
    from ..agent_output import AgentOutputSchema
    from ..handoffs import Handoff
    from ..items import ModelResponse, TResponseInputItem
    from ..model_settings import ModelSettings
    from ..tool import Tool


_request_sent: ContextVar[Callable[[], None] | None] = ContextVar("otelagents_request_sent", default=None)


def notify_request_sent() -> None:
    """For adapters: call just before the request goes to the transport (each attempt).

    The run loop points this at the current model call's observation, so telemetry can start its
    time-to-first-chunk clock when the request really leaves, not when the call began."""
    callback = _request_sent.get()
    if callback is not None:
        callback()


class _Relay:
    """The context variable's value: the call's callback until the call ends, then nothing.

    Copies of the context outlive the call (a cancelled timer handle keeps the context it was scheduled in
    until its deadline comes round, a transport's reader keeps the one it was registered in), so the copies
    must not keep the call's observation, and with it the whole run, alive."""

    __slots__ = ("callback",)

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback: Callable[[], None] | None = callback

    def __call__(self) -> None:
        callback = self.callback
        if callback is not None:
            callback()


def bind_request_sent(callback: Callable[[], None]) -> Callable[[], None]:
    """For the run loop and instrumentations: point ``notify_request_sent`` at ``callback`` in this context.

    Returns the function to call when the model call ends: it resets the variable and drops ``callback``,
    also from any copy of the context that something kept."""
    relay = _Relay(callback)
    token = _request_sent.set(relay)

    def unbind() -> None:
        relay.callback = None
        try:
            _request_sent.reset(token)
        except ValueError:  # ended from another context (a stream closed elsewhere): nothing is left set there
            pass

    return unbind


class ModelTracing(enum.Enum):
    DISABLED = 0
    ENABLED = 1
    ENABLED_WITHOUT_DATA = 2

    def is_disabled(self) -> bool:
        return self is ModelTracing.DISABLED

    def include_data(self) -> bool:
        return self is ModelTracing.ENABLED


@dataclass(frozen=True)
class ModelInfo:
    """What telemetry needs to know about a model, without importing any telemetry code."""

    request_model: str
    provider_name: str = "unknown"
    api: str | None = None  # "responses" or "chat_completions" for OpenAI-compatible servers
    server_address: str | None = None
    server_port: int | None = None


class Model(abc.ABC):  # noqa: B024 - either method may be the one implemented
    """One model. Implement ``stream_response`` (``get_response`` is then derived from it), or
    ``get_response`` alone for a model used only with ``Runner.run``/``run_sync``, or both, as in the
    Agents SDK (``Runner.run`` calls a model's own ``get_response``; ``run_streamed`` always streams)."""

    def stream_response(
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
        """Stream one call as ``openai`` Responses events.

        A successful call ends with ``response.completed``. A failed one yields its terminal event
        (``response.failed``, ``response.incomplete`` or ``error``) and stops: the run loop turns it into
        ``ModelBehaviorError``. Transport errors are raised as the client's own exceptions.
        """
        from ..exceptions import UserError

        raise UserError(
            f"{type(self).__name__} does not implement stream_response, so it cannot stream: implement "
            "stream_response, or use Runner.run / Runner.run_sync, which call its get_response"
        )

    async def get_response(
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
    ) -> ModelResponse:
        """The whole call at once: the stream, consumed."""
        from ..items import ModelResponse

        final = None
        stream = self.stream_response(
            system_instructions, input, model_settings, tools, output_schema, handoffs, tracing,
            previous_response_id=previous_response_id, conversation_id=conversation_id, prompt=prompt,
        )
        async for event in stream:
            if event.type == "response.completed":
                final = event.response
            elif event.type in ("response.failed", "response.incomplete", "error"):
                raise ModelBehaviorError(describe_terminal_event(event, self.describe().api))
        if final is None:
            raise ModelBehaviorError("Model did not produce a final response!")
        return ModelResponse(
            output=list(final.output), usage=Usage.from_response_usage(final.usage),
            response_id=final.id, raw=final,
        )

    def describe(self) -> ModelInfo:
        """Name, provider and server of this model, for telemetry. Override in adapters."""
        return ModelInfo(request_model=getattr(self, "model", type(self).__name__))

    async def close(self) -> None:  # noqa: B027 - optional hook with a no-op default
        """Release resources (HTTP clients). The default has none."""


class ModelProvider(abc.ABC):
    """Turns a model name into a ``Model``."""

    @abc.abstractmethod
    def get_model(self, model_name: str | None) -> Model: ...


_CHAT_FINISH = {"max_output_tokens": "length", "content_filter": "content_filter"}


def describe_terminal_event(event: Any, api: str | None = None) -> str:
    """The ``ModelBehaviorError`` message for a terminal model event, as the Agents SDK words it.

    ``api="chat_completions"``: the event was converted from a Chat Completions stream, so the message names
    that API and its ``finish_reason`` (as the SDK's Chat Completions model does), not the Responses stream.
    """
    if api == "chat_completions":
        return _describe_chat_terminal(event)
    head = f"Responses stream ended with terminal event `{event.type}`."
    if event.type == "error":
        return f"{head} code={event.code}; message={event.message}; param={event.param}."
    response = event.response
    if event.type == "response.incomplete":
        return f"{head} incomplete_details={response.incomplete_details}."
    return f"{head} status={response.status}; error={response.error}."


def _describe_chat_terminal(event: Any) -> str:
    if event.type == "error":
        return (f"Chat Completions stream ended with an error chunk: code={event.code}; message={event.message}; "
                f"param={event.param}.")
    response = event.response
    if event.type == "response.incomplete":
        reason = getattr(response.incomplete_details, "reason", None)
        finish = _CHAT_FINISH.get(str(reason), str(reason))
        return (f"Chat Completions stream terminated with finish_reason='{finish}' but produced no assistant "
                "text, tool call, or refusal.")
    return f"Chat Completions stream failed: error={response.error}."
