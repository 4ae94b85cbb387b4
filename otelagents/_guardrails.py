"""Running guardrails for the run loop: input guardrails around the first turn, output guardrails on the
final output. As in the Agents SDK, the guardrails of one kind run concurrently and the first tripwire
cancels the others; every result that finished (the tripping one included) lands on the run's result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from ._observed_guardrail import observed_check
from .exceptions import AgentsException, InputGuardrailTripwireTriggered, OutputGuardrailTripwireTriggered, UserError
from .guardrail import InputGuardrail, InputGuardrailResult, OutputGuardrail, OutputGuardrailResult
from .items import ItemHelpers, TResponseInputItem
from .observer import NOOP_GUARDRAIL, GuardrailInfo, GuardrailObservation
from .run_context import RunContextWrapper

if TYPE_CHECKING:
    from .agent import Agent
    from .result import RunResultBase
    from .run_config import RunConfig

T = TypeVar("T")
R = TypeVar("R", InputGuardrailResult, OutputGuardrailResult)

ObserveGuardrail = Callable[[GuardrailInfo], GuardrailObservation]


def no_observer(info: GuardrailInfo) -> GuardrailObservation:
    return NOOP_GUARDRAIL


def tripwire_error(result: InputGuardrailResult | OutputGuardrailResult) -> AgentsException:
    if isinstance(result, InputGuardrailResult):
        return InputGuardrailTripwireTriggered(result)
    return OutputGuardrailTripwireTriggered(result)


async def _observed(check: Callable[[], Awaitable[R]], observe: ObserveGuardrail, info: GuardrailInfo) -> R:
    """One check, reported to its observation: passed, tripped (with the tripwire error) or failed."""
    return await observed_check(observe, info, check, _tripwire)


def _tripwire(result: InputGuardrailResult | OutputGuardrailResult) -> bool | BaseException:
    return tripwire_error(result) if result.output.tripwire_triggered else False


def _info(agent: Agent[Any], guardrail: InputGuardrail[Any] | OutputGuardrail[Any], kind: str) -> GuardrailInfo:
    return GuardrailInfo(agent=agent, name=guardrail.get_name(), kind=kind)


async def _settle(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        if not task.done():
            task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _run_all(checks: Sequence[Awaitable[R]], sink: list[R]) -> R | None:
    """Run the checks concurrently, appending each result to ``sink``; return the first that tripped."""
    tasks = [asyncio.ensure_future(check) for check in checks]
    try:
        for next_done in asyncio.as_completed(tasks):
            result = await next_done
            sink.append(result)
            if result.output.tripwire_triggered:
                return result
        return None
    finally:
        await _settle(tasks)


async def run_input_guardrails(
    guardrails: list[InputGuardrail[Any]],
    agent: Agent[Any],
    input: str | list[TResponseInputItem],
    context: RunContextWrapper[Any],
    sink: list[InputGuardrailResult],
    observe: ObserveGuardrail = no_observer,
) -> None:
    """Raise ``InputGuardrailTripwireTriggered`` for the first guardrail that trips."""
    if not guardrails:
        return
    checks = [_observed(partial(g.run, agent, input, context), observe, _info(agent, g, "input"))
              for g in guardrails]
    tripped = await _run_all(checks, sink)
    if tripped is not None:
        raise InputGuardrailTripwireTriggered(tripped)


async def run_output_guardrails(
    guardrails: list[OutputGuardrail[Any]],
    agent: Agent[Any],
    output: Any,
    context: RunContextWrapper[Any],
    sink: list[OutputGuardrailResult],
    observe: ObserveGuardrail = no_observer,
) -> None:
    """Raise ``OutputGuardrailTripwireTriggered`` for the first guardrail that trips."""
    if not guardrails:
        return
    checks = [_observed(partial(g.run, context, agent, output), observe, _info(agent, g, "output"))
              for g in guardrails]
    tripped = await _run_all(checks, sink)
    if tripped is not None:
        raise OutputGuardrailTripwireTriggered(tripped)


class InputGate:
    """The starting agent's input guardrails (the agent's, then the run config's) for the first turn.

    ``before_first_turn`` runs the blocking ones (``run_in_parallel=False``) before anything else;
    ``around_first_turn`` runs the others alongside the first model call: a tripwire cancels the call, and
    the turn's tools or handoff only run once every guardrail has passed.
    """

    def __init__(
        self,
        guardrails: list[InputGuardrail[Any]],
        agent: Agent[Any],
        input: str | list[TResponseInputItem],
        context: RunContextWrapper[Any],
        sink: list[InputGuardrailResult],
        observe: ObserveGuardrail,
    ) -> None:
        self._observe = observe
        self._blocking = [g for g in guardrails if not g.run_in_parallel]
        self._parallel = [g for g in guardrails if g.run_in_parallel]
        self._agent = agent
        self._input = input
        self._context = context
        self._sink = sink

    @classmethod
    def for_run(
        cls, result: RunResultBase, run_config: RunConfig, streamed: bool, observe: ObserveGuardrail
    ) -> InputGate:
        """The gate of a run: the starting agent's guardrails, then the run config's. A streamed run's
        guardrails see the input as a list of items; a plain run's see it as given (as in the SDK)."""
        agent = result.last_agent
        value = result.input
        shown = ItemHelpers.input_to_new_input_list(value) if streamed or not isinstance(value, str) else value
        return cls(list(agent.input_guardrails) + list(run_config.input_guardrails or []), agent, shown,
                   result.context_wrapper, result.input_guardrail_results, observe)

    def __bool__(self) -> bool:
        return bool(self._blocking or self._parallel)

    async def before_first_turn(self) -> None:
        await run_input_guardrails(
            self._blocking, self._agent, self._input, self._context, self._sink, self._observe
        )

    async def around_first_turn(self, turn: Coroutine[Any, Any, T]) -> T:
        if not self._parallel:
            return await turn
        guard = asyncio.ensure_future(
            run_input_guardrails(
                self._parallel, self._agent, self._input, self._context, self._sink, self._observe
            )
        )
        model = asyncio.ensure_future(turn)
        try:
            await asyncio.wait((guard, model), return_when=asyncio.FIRST_COMPLETED)
            if guard.done():
                guard.result()  # a tripwire (or a failing guardrail) wins over the model call
            value = await model
            await guard
            return value
        finally:
            await _settle([model, guard])


def refuse_output_guardrails_on_server_history(agent: Agent[Any], run_config: RunConfig, model: object) -> None:
    """With server-side conversation state a rejected answer cannot be taken back from the server's history, so
    output guardrails are refused there (the Chat Completions model keeps no such history), as in the SDK."""
    from .models.openai_chatcompletions import OpenAIChatCompletionsModel

    if (agent.output_guardrails or run_config.output_guardrails) and not isinstance(model, OpenAIChatCompletionsModel):
        raise UserError("Output guardrails cannot be combined with conversation_id, previous_response_id, or "
                        "auto_previous_response_id because rejected output cannot be removed from server-managed "
                        "conversation history.")
