"""Model calls: a ``Model`` wrapper around whatever model the SDK resolved for a turn.

The SDK asks ``get_model(agent, run_config)`` for each turn's model; the patched resolver hands back an
``ObservedModel`` around it (any ``Model`` subclass: the SDK's Responses and Chat Completions models,
LiteLLM, a user's own). Its ``stream_response`` sees every event as it arrives from the model, before the
SDK's queue and before the consumer: that is where the stream timing is taken, by the same
``ModelCallObservation`` the runner feeds. The request-sent clock comes from the ``openai`` client's HTTP
transport (the same hook the runner's adapters use), so streaming latencies run from the request leaving;
a model without an ``openai`` client is timed from the call's start, like the runner's scripted model.

``get_response`` (``Runner.run`` and ``run_sync``; the SDK does not stream there) is observed as one
non-streaming call: the same ``chat`` span and duration/usage metrics, no streaming latencies.

Hosted tools (web search, file search, code interpreter, image generation, hosted MCP) run on OpenAI's
side during a streamed call; each is an ``execute_tool`` span under the agent (a sibling of the ``chat``
span it ran within) from its output item's ``added`` to its ``done`` event, ``gen_ai.tool.type``
``datastore`` for file search and ``extension`` for the others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from time import perf_counter
from typing import Any, cast

from agents.exceptions import ModelBehaviorError
from agents.models.interface import Model, ModelTracing

from otelagents._hosted_tool_calls import HostedToolCalls
from otelagents._observing import event_timer_of, observer_failed, safe_call
from otelagents.items import ModelResponse as CoreResponse
from otelagents.models.interface import ModelInfo, bind_request_sent
from otelagents.observer import NOOP_AGENT, NOOP_MODEL_CALL, ModelCallInfo, ModelCallObservation, Outcome
from otelagents.usage import Usage as CoreUsage

from ._runs import RunRecord

_FINAL, _FAILED, _ITEM = 1, 2, 3
_ACTIONS = {"response.completed": _FINAL, "response.failed": _FAILED, "response.incomplete": _FAILED,
            "error": _FAILED, "response.error": _FAILED, "response.output_item.added": _ITEM,
            "response.output_item.done": _ITEM}
_action = _ACTIONS.get
_NO_TYPES: frozenset[str] = frozenset()


def describe_model(model: Any) -> ModelInfo:
    """Name, provider and server of an SDK model, as the runner's adapters describe theirs (a model with a
    ``describe()`` returning an otelagents ``ModelInfo`` describes itself)."""
    describe = getattr(model, "describe", None)
    if callable(describe):
        info = describe()
        if isinstance(info, ModelInfo):
            return info
    name = getattr(model, "model", None)
    request_model = name if isinstance(name, str) and name else type(model).__name__
    client: Any = getattr(model, "_client", None)
    base_url = getattr(client, "base_url", None)
    if base_url is None or not hasattr(client, "post"):
        return ModelInfo(request_model=request_model)
    from otelagents.models._openai_http import _watch_requests, describe_client

    api = "chat_completions" if "ChatCompletions" in type(model).__name__ else "responses"
    try:
        _watch_requests(client)  # the request-sent clock: a hook on the client's HTTP transport
    except Exception as exc:  # pragma: no cover - a client without event hooks keeps working
        observer_failed("agents-sdk request hook", exc)
    return describe_client(client, request_model, api)


def _outcome_of(error: BaseException) -> Outcome:
    import asyncio

    if isinstance(error, (asyncio.CancelledError, GeneratorExit)):
        timed_out = _model_timeout()
        if timed_out is not None:  # cancelled by ModelSettings.timeout: the call failed with the SDK's error
            return Outcome(error=timed_out)
        return Outcome(error=error, cancelled=True)
    return Outcome(error=error)


def _model_timeout() -> BaseException | None:
    """The ``ModelTimeoutError`` the SDK marked the current (model-owned) task with before cancelling it."""
    try:
        from agents.util._error_tracing import get_current_task_model_timeout_error
    except ImportError:  # pragma: no cover - an SDK without per-call timeouts
        return None
    return get_current_task_model_timeout_error()


class _NoRaw:
    """What telemetry reads of a final response when the SDK gave no ``openai`` Response (get_response)."""

    def __init__(self, response: Any) -> None:
        self.id = getattr(response, "response_id", None)
        self.model = None
        self.usage = getattr(response, "usage", None)


class ObservedModel(Model):
    """Delegates to the SDK's model; reports each call to the current agent's observation."""

    def __init__(self, model: Model, agent: Any, record: RunRecord) -> None:
        self._model = model
        self._agent = agent
        self._record = record
        self._info = describe_model(model)

    def __getattr__(self, name: str) -> Any:  # anything else the SDK asks of the model
        return getattr(self._model, name)

    async def _cleanup_on_run_end(self, owner: object) -> None:
        await self._model._cleanup_on_run_end(owner)

    async def close(self) -> None:
        await self._model.close()

    def get_retry_advice(self, request: Any) -> Any:
        return self._model.get_retry_advice(request)

    def _start(self, instructions: str | None, input: Any, settings: Any, tools: Any, output_schema: Any,
               handoffs: Any, stream: bool) -> ModelCallObservation:
        record = self._record
        agent = record.agent
        if agent is None or record.done:
            return NOOP_MODEL_CALL
        record.turn += 1
        output_type = None
        if output_schema is not None and not output_schema.is_plain_text():
            output_type = output_schema.name()
        info = ModelCallInfo(
            agent=cast(Any, record.agent_ref(getattr(self._agent, "name", record.agent_name or ""))),
            model=self._info, turn=record.turn, system_instructions=instructions,
            input=[{"role": "user", "content": input}] if isinstance(input, str) else list(input),
            settings=settings, tools=list(tools), handoffs=list(handoffs), output_type=output_type, stream=stream,
        )
        return safe_call("model_call_started", agent.model_call_started, NOOP_MODEL_CALL, info)

    def _with_headers(self, observation: ModelCallObservation, settings: Any) -> Any:
        no_headers: Mapping[str, str] = {}
        headers = safe_call("request_headers", observation.request_headers, no_headers)
        if not headers:
            return settings
        merged = {**(settings.extra_headers or {}), **headers}
        return dataclasses.replace(settings, extra_headers=merged)

    async def get_response(self, system_instructions: str | None, input: Any, model_settings: Any, tools: Any,
                           output_schema: Any, handoffs: Any, tracing: ModelTracing, *,
                           previous_response_id: str | None, conversation_id: str | None, prompt: Any) -> Any:
        observation = self._start(system_instructions, input, model_settings, tools, output_schema, handoffs, False)
        settings = self._with_headers(observation, model_settings)
        unbind = bind_request_sent(observation.request_sent)
        try:
            response = await self._model.get_response(
                system_instructions, input, settings, tools, output_schema, handoffs, tracing,
                previous_response_id=previous_response_id, conversation_id=conversation_id, prompt=prompt)
        except BaseException as exc:
            safe_call("ModelCallObservation.ended", observation.ended, None, None, _outcome_of(exc))
            raise
        finally:
            unbind()
        core = CoreResponse(output=list(response.output), usage=CoreUsage(), response_id=response.response_id,
                            raw=_NoRaw(response))
        safe_call("ModelCallObservation.ended", observation.ended, None, core, Outcome())
        return response

    def stream_response(self, system_instructions: str | None, input: Any, model_settings: Any, tools: Any,
                        output_schema: Any, handoffs: Any, tracing: ModelTracing, *,
                        previous_response_id: str | None, conversation_id: str | None,
                        prompt: Any) -> AsyncIterator[Any]:
        return self._stream(system_instructions, input, model_settings, tools, output_schema, handoffs, tracing,
                            previous_response_id, conversation_id, prompt)

    async def _stream(self, system_instructions: str | None, input: Any, model_settings: Any, tools: Any,
                      output_schema: Any, handoffs: Any, tracing: ModelTracing, previous_response_id: str | None,
                      conversation_id: str | None, prompt: Any) -> AsyncIterator[Any]:
        observation = self._start(system_instructions, input, model_settings, tools, output_schema, handoffs, True)
        if observation is NOOP_MODEL_CALL:
            async for event in self._model.stream_response(
                    system_instructions, input, model_settings, tools, output_schema, handoffs, tracing,
                    previous_response_id=previous_response_id, conversation_id=conversation_id, prompt=prompt):
                yield event
            return
        settings = self._with_headers(observation, model_settings)
        observe = observation.event
        timer = event_timer_of(observation)
        timed, stamp = (timer.types, timer.times.append) if timer is not None else (_NO_TYPES, None)
        final: Any = None
        failed: Any = None
        record = self._record
        hosted = HostedToolCalls(record.agent or NOOP_AGENT, record.agent_ref(record.agent_name or ""))
        unbind = bind_request_sent(observation.request_sent)
        inner: AsyncIterator[Any] = self._model.stream_response(
            system_instructions, input, settings, tools, output_schema, handoffs, tracing,
            previous_response_id=previous_response_id, conversation_id=conversation_id, prompt=prompt)
        try:
            async for event in inner:
                kind = event.type
                if stamp is not None and kind in timed:  # the observation only wants the time: no call
                    stamp(perf_counter())
                else:
                    try:
                        observe(event)
                    except Exception as exc:
                        observer_failed("ModelCallObservation.event", exc)
                action = _action(kind)  # None for the deltas: one look-up on the hot path
                if action is not None:
                    if action == _FINAL:
                        final = event.response
                    elif action == _FAILED:
                        failed = event
                    else:
                        hosted.seen(kind, event.item)
                yield event
        except BaseException as exc:
            outcome = _outcome_of(exc)
            if final is not None and outcome.cancelled:  # the SDK stopped reading after the final event
                outcome = Outcome()
            elif failed is not None:
                outcome = Outcome(error=ModelBehaviorError(f"model stream ended with {failed.type}"))
            hosted.end_all(outcome)
            self._end(observation, final, outcome)
            raise
        finally:
            unbind()
            aclose = getattr(inner, "aclose", None)
            if aclose is not None:
                await aclose()
        hosted.end_all(Outcome() if final is not None else Outcome(error=ModelBehaviorError("stream ended early")))
        if final is None and failed is None:
            self._end(observation, None, Outcome(error=ModelBehaviorError("model stream ended without a final "
                                                                           "response")))
        elif final is None:
            self._end(observation, None, Outcome(error=ModelBehaviorError(f"model stream ended with {failed.type}")))
        else:
            self._end(observation, final, Outcome())

    @staticmethod
    def _end(observation: ModelCallObservation, final: Any, outcome: Outcome) -> None:
        response = None
        if final is not None and outcome.ok:
            response = CoreResponse(output=list(final.output or []), usage=CoreUsage(), response_id=final.id,
                                    raw=final)
        safe_call("ModelCallObservation.ended", observation.ended, None, response, outcome)
