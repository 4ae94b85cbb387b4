"""``Runner``: the entry points. A thin façade over ``_run_loop.RunLoop``."""

from __future__ import annotations

import asyncio
from typing import Any

from ._error_handling import check_error_handlers
from ._guardrails import refuse_output_guardrails_on_server_history
from ._observing import run_observers, safe_call, start_run_observation
from ._run_loop import RunLoop
from ._server_conversation import ServerConversation
from ._session import SessionRun, check_session
from .agent import Agent
from .exceptions import UserError
from .items import TResponseInputItem
from .lifecycle import RunHooks
from .memory.session import Session
from .model_settings import ModelSettings
from .models.interface import Model, ModelProvider
from .observer import NOOP_RUN, Outcome, RunInfo, RunObservation
from .result import RunResult, RunResultStreaming
from .run_config import ReasoningItemIdPolicy as ReasoningItemIdPolicy  # re-exported, as by agents.run
from .run_config import RunConfig
from .run_context import RunContextWrapper

DEFAULT_MAX_TURNS = 10

_default_model: str | Model | None = None
_default_provider: ModelProvider | None = None


def set_default_model(model: str | Model | None) -> None:
    """The model used by agents that name none (``None`` restores the provider's default).

    Handy for tests and offline demos: ``set_default_model(ScriptedModel([...]))`` makes code that
    names no model run against the scripted model.
    """
    if model is not None and not isinstance(model, (str, Model)):
        raise UserError(f"set_default_model takes a model name, a Model or None, not {type(model).__name__}")
    global _default_model
    _default_model = model


def set_default_model_provider(provider: ModelProvider | None) -> None:
    """The provider that turns model names into models (default: the OpenAI provider)."""
    global _default_provider
    _default_provider = provider


def _provider(run_config: RunConfig) -> ModelProvider:
    if run_config.model_provider is not None:
        return run_config.model_provider
    if _default_provider is not None:
        return _default_provider
    from .models.openai_provider import OpenAIProvider

    return OpenAIProvider.shared()


def resolve_model(agent: Agent[Any], run_config: RunConfig) -> Model:
    """``run_config.model``, then a ``Model`` on the agent, then a name looked up by the provider."""
    for candidate in (run_config.model, agent.model, _default_model):
        if isinstance(candidate, Model):
            return candidate
        if isinstance(candidate, str):
            return _provider(run_config).get_model(candidate)
        if candidate is not None:
            raise UserError(f"Agent {agent.name!r}: model must be a name or a Model, not {type(candidate).__name__}")
    return _provider(run_config).get_model(None)


def model_settings_for(agent: Agent[Any], run_config: RunConfig) -> ModelSettings:
    """The agent's settings over the run's, where an agent that keeps the default settings gets the
    SDK's defaults for the model name the run resolves to (GPT-5 reasoning settings)."""
    from .agent import _implicit_settings
    from .models.default_models import get_default_model_settings

    settings = agent.model_settings
    if settings == _implicit_settings(agent.model):  # the agent kept its defaults: follow the resolved name
        for candidate in (run_config.model, agent.model, _default_model):
            if isinstance(candidate, Model):
                settings = ModelSettings()  # a Model object (a scripted one, say) gets no name-based defaults
                break
            if isinstance(candidate, str):
                settings = get_default_model_settings(candidate)
                break
        else:
            settings = get_default_model_settings()
    return settings.resolve(run_config.model_settings)




def _checked_config(run_config: Any, conversation: ServerConversation | None) -> RunConfig:
    return RunConfig.coerce(run_config)


def _check_common(starting_agent: Any, max_turns: int | None, error_handlers: Any) -> None:
    if not isinstance(starting_agent, Agent):
        raise UserError(f"starting_agent must be an Agent, not {type(starting_agent).__name__}")
    if max_turns is not None and (not isinstance(max_turns, int) or isinstance(max_turns, bool)):
        # 0 or less is allowed: the run raises MaxTurnsExceeded (or its handler answers), as in the SDK
        raise UserError(f"max_turns must be an int or None, not {max_turns!r}")
    check_error_handlers(error_handlers)


class Runner:
    @classmethod
    def run_streamed(
        cls,
        starting_agent: Agent[Any],
        input: str | list[TResponseInputItem],
        context: Any = None,
        max_turns: int | None = DEFAULT_MAX_TURNS,
        hooks: RunHooks[Any] | None = None,
        run_config: RunConfig | dict[str, Any] | None = None,
        previous_response_id: str | None = None,
        auto_previous_response_id: bool = False,
        conversation_id: str | None = None,
        session: Session | None = None,
        *,
        error_handlers: Any = None,
    ) -> RunResultStreaming:
        """Start a run in the background and return at once; iterate ``result.stream_events()``."""
        _check_common(starting_agent, max_turns, error_handlers)
        conversation = ServerConversation.of(previous_response_id, auto_previous_response_id, conversation_id)
        config = _checked_config(run_config, conversation)
        if conversation is not None:
            refuse_output_guardrails_on_server_history(starting_agent, config, resolve_model(starting_agent, config))
        result = _new_result(starting_agent, input, context, max_turns)
        result.run_loop_task = asyncio.get_running_loop().create_task(
            _drive(result, config, hooks, streamed=True, error_handlers=error_handlers,
                   session=check_session(session, conversation), conversation=conversation),
            name=f"otelagents run: {starting_agent.name}",
        )
        result.run_loop_task.add_done_callback(_retrieve)
        return result

    @classmethod
    async def run(
        cls,
        starting_agent: Agent[Any],
        input: str | list[TResponseInputItem],
        *,
        context: Any = None,
        max_turns: int | None = DEFAULT_MAX_TURNS,
        hooks: RunHooks[Any] | None = None,
        run_config: RunConfig | dict[str, Any] | None = None,
        previous_response_id: str | None = None,
        auto_previous_response_id: bool = False,
        conversation_id: str | None = None,
        session: Session | None = None,
        error_handlers: Any = None,
    ) -> RunResult:
        """Run to the end and return the result. Raises the run's error."""
        _check_common(starting_agent, max_turns, error_handlers)
        conversation = ServerConversation.of(previous_response_id, auto_previous_response_id, conversation_id)
        config = _checked_config(run_config, conversation)
        if conversation is not None:
            refuse_output_guardrails_on_server_history(starting_agent, config, resolve_model(starting_agent, config))
        state = _new_result(starting_agent, input, context, max_turns)
        await _drive(state, config, hooks, streamed=False, error_handlers=error_handlers,
                     session=check_session(session, conversation), conversation=conversation)
        return RunResult(
            input=state.input, new_items=state.new_items, raw_responses=state.raw_responses,
            final_output=state.final_output, input_guardrail_results=state.input_guardrail_results,
            output_guardrail_results=state.output_guardrail_results,
            context_wrapper=state.context_wrapper, _last_agent=state.current_agent, max_turns=max_turns,
            tool_input_guardrail_results=state.tool_input_guardrail_results,
            tool_output_guardrail_results=state.tool_output_guardrail_results,
        )

    @classmethod
    def run_sync(
        cls,
        starting_agent: Agent[Any],
        input: str | list[TResponseInputItem],
        *,
        context: Any = None,
        max_turns: int | None = DEFAULT_MAX_TURNS,
        hooks: RunHooks[Any] | None = None,
        run_config: RunConfig | dict[str, Any] | None = None,
        previous_response_id: str | None = None,
        auto_previous_response_id: bool = False,
        conversation_id: str | None = None,
        session: Session | None = None,
        error_handlers: Any = None,
    ) -> RunResult:
        """``run`` for code without an event loop. Fails inside a running loop: use ``await Runner.run``."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError(
                "Runner.run_sync() cannot be called from a running event loop; use `await Runner.run(...)`"
            )
        return asyncio.run(
            cls.run(
                starting_agent, input, context=context, max_turns=max_turns, hooks=hooks, run_config=run_config,
                previous_response_id=previous_response_id, auto_previous_response_id=auto_previous_response_id,
                conversation_id=conversation_id, session=session, error_handlers=error_handlers,
            )
        )


def _new_result(agent: Agent[Any], input: Any, context: Any, max_turns: int | None) -> RunResultStreaming:
    if not isinstance(input, (str, list)):
        raise UserError(f"input must be a string or a list of input items, not {type(input).__name__}")
    return RunResultStreaming(
        input=input if isinstance(input, str) else list(input), new_items=[], raw_responses=[],
        final_output=None, input_guardrail_results=[], output_guardrail_results=[],
        context_wrapper=RunContextWrapper(context=context), _last_agent=agent, current_agent=agent,
        max_turns=max_turns,
    )


async def _drive(
    result: RunResultStreaming, config: RunConfig, hooks: Any, *, streamed: bool, error_handlers: Any = None,
    session: Session | None = None, conversation: ServerConversation | None = None,
) -> None:
    """Run the loop with observation, errors and the end-of-stream sentinel on every path.

    Observer failures are contained by ``safe_call`` in production; in strict mode (tests) they become
    the run's error, and even then the stream ends: the sentinel is queued whatever raised.
    """
    observation: RunObservation = NOOP_RUN
    outcome = Outcome()
    error: BaseException | None = None
    try:
        session_run = SessionRun(session, config.session_settings, config.session_input_callback)
        result.input = await session_run.prepare(result.input)
        await session_run.save([])  # the new input is stored before any model call, as in the SDK
        observation = start_run_observation(
            run_observers(config.observers),
            RunInfo(
                starting_agent=result.current_agent, input=result.input, run_config=config,
                max_turns=result.max_turns, streamed=streamed,
                include_sensitive_data=config.trace_include_sensitive_data,
                conversation_id=session_run.conversation_id or (
                    conversation.conversation_id if conversation is not None else None),
            ),
        )
        loop = RunLoop(result, run_config=config, hooks=hooks, observation=observation,
                       resolve_model=resolve_model, streamed=streamed, error_handlers=error_handlers,
                       settings_for=model_settings_for, session=session_run, conversation=conversation)
        try:
            await loop.run()
        except BaseException as exc:
            loop.fail(exc)
            raise
        if result._stop_after_turn():
            outcome = Outcome(cancelled=True)
        else:
            outcome = Outcome(output=result.final_output, usage=result.context_wrapper.usage)
    except asyncio.CancelledError as exc:
        outcome = Outcome(error=exc, cancelled=True)
        raise
    except BaseException as exc:
        error = exc
        outcome = Outcome(error=exc)
        raise
    finally:
        try:
            safe_call("RunObservation.ended", observation.ended, None, outcome)
        except BaseException as exc:  # strict mode: an observer bug fails the run, it does not hang it
            error = error or exc
            raise
        finally:
            if error is not None and result._stored_exception is None:
                result._stored_exception = error
                result.final_output = None
            result._finish()


def _retrieve(task: asyncio.Task[Any]) -> None:
    # The error reaches the consumer through stream_events(); mark it retrieved so asyncio does not
    # also log "exception was never retrieved". Awaiting run_loop_task still raises it.
    if not task.cancelled():
        task.exception()
