"""Input and output guardrails: checks that can stop a run (``@input_guardrail``, ``@output_guardrail``).

An input guardrail sees the starting agent's input on the first turn; by default it runs alongside the
first model call (``run_in_parallel=True``), or before it (``run_in_parallel=False``). An output guardrail
sees the final output of the agent that produced it (after any handoffs). A guardrail whose
``tripwire_triggered`` is true stops the run with ``InputGuardrailTripwireTriggered`` or
``OutputGuardrailTripwireTriggered``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, overload

from .exceptions import UserError
from .items import TResponseInputItem
from .run_context import RunContextWrapper, TContext

if TYPE_CHECKING:
    from .agent import Agent

__all__ = [
    "GuardrailFunctionOutput",
    "InputGuardrail",
    "InputGuardrailResult",
    "OutputGuardrail",
    "OutputGuardrailResult",
    "input_guardrail",
    "output_guardrail",
]


@dataclass
class GuardrailFunctionOutput:
    """What a guardrail function returns: free-form ``output_info`` and whether to stop the run."""

    output_info: Any
    tripwire_triggered: bool


@dataclass
class InputGuardrailResult:
    guardrail: InputGuardrail[Any]
    output: GuardrailFunctionOutput


@dataclass
class OutputGuardrailResult:
    guardrail: OutputGuardrail[Any]
    agent_output: Any
    agent: Agent[Any]
    output: GuardrailFunctionOutput


InputGuardrailFunction = Callable[
    [RunContextWrapper[Any], "Agent[Any]", "str | list[TResponseInputItem]"],
    "GuardrailFunctionOutput | Awaitable[GuardrailFunctionOutput]",
]
OutputGuardrailFunction = Callable[
    [RunContextWrapper[Any], "Agent[Any]", Any],
    "GuardrailFunctionOutput | Awaitable[GuardrailFunctionOutput]",
]


async def _checked(name: str, value: Any) -> GuardrailFunctionOutput:
    if inspect.isawaitable(value):
        value = await value
    if not isinstance(value, GuardrailFunctionOutput):
        raise UserError(
            f"Guardrail {name!r} returned {type(value).__name__}; a guardrail function must return "
            "GuardrailFunctionOutput(output_info=..., tripwire_triggered=...)"
        )
    return value


def _function_name(function: Callable[..., Any]) -> str:
    return str(getattr(function, "__name__", type(function).__name__))


@dataclass
class InputGuardrail(Generic[TContext]):
    """A check on the run's input: ``guardrail_function(context, agent, input)``."""

    guardrail_function: InputGuardrailFunction
    name: str | None = None
    run_in_parallel: bool = True

    def get_name(self) -> str:
        return self.name or _function_name(self.guardrail_function)

    async def run(
        self, agent: Agent[Any], input: str | list[TResponseInputItem], context: RunContextWrapper[TContext]
    ) -> InputGuardrailResult:
        if not callable(self.guardrail_function):
            raise UserError(f"Guardrail function must be callable, got {self.guardrail_function!r}")
        output = await _checked(self.get_name(), self.guardrail_function(context, agent, input))
        return InputGuardrailResult(guardrail=self, output=output)


@dataclass
class OutputGuardrail(Generic[TContext]):
    """A check on an agent's final output: ``guardrail_function(context, agent, output)``."""

    guardrail_function: OutputGuardrailFunction
    name: str | None = None

    def get_name(self) -> str:
        return self.name or _function_name(self.guardrail_function)

    async def run(
        self, context: RunContextWrapper[TContext], agent: Agent[Any], agent_output: Any
    ) -> OutputGuardrailResult:
        if not callable(self.guardrail_function):
            raise UserError(f"Guardrail function must be callable, got {self.guardrail_function!r}")
        output = await _checked(self.get_name(), self.guardrail_function(context, agent, agent_output))
        return OutputGuardrailResult(guardrail=self, agent=agent, agent_output=agent_output, output=output)


@overload
def input_guardrail(func: InputGuardrailFunction, /) -> InputGuardrail[Any]: ...


@overload
def input_guardrail(
    *, name: str | None = None, run_in_parallel: bool = True
) -> Callable[[InputGuardrailFunction], InputGuardrail[Any]]: ...


def input_guardrail(
    func: InputGuardrailFunction | None = None, /, *, name: str | None = None, run_in_parallel: bool = True
) -> InputGuardrail[Any] | Callable[[InputGuardrailFunction], InputGuardrail[Any]]:
    """Make a sync or async function an ``InputGuardrail``: ``@input_guardrail`` or ``@input_guardrail(...)``."""

    def decorate(f: InputGuardrailFunction) -> InputGuardrail[Any]:
        if not callable(f):
            raise UserError(f"input_guardrail expects a function, got {type(f).__name__}")
        return InputGuardrail(guardrail_function=f, name=name or _function_name(f), run_in_parallel=run_in_parallel)

    return decorate(func) if func is not None else decorate


@overload
def output_guardrail(func: OutputGuardrailFunction, /) -> OutputGuardrail[Any]: ...


@overload
def output_guardrail(*, name: str | None = None) -> Callable[[OutputGuardrailFunction], OutputGuardrail[Any]]: ...


def output_guardrail(
    func: OutputGuardrailFunction | None = None, /, *, name: str | None = None
) -> OutputGuardrail[Any] | Callable[[OutputGuardrailFunction], OutputGuardrail[Any]]:
    """Make a sync or async function an ``OutputGuardrail``: ``@output_guardrail`` or ``@output_guardrail(...)``."""

    def decorate(f: OutputGuardrailFunction) -> OutputGuardrail[Any]:
        if not callable(f):
            raise UserError(f"output_guardrail expects a function, got {type(f).__name__}")
        return OutputGuardrail(guardrail_function=f, name=name or _function_name(f))

    return decorate(func) if func is not None else decorate
