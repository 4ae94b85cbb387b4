"""Tool guardrails: checks around one function tool's call (``@tool_input_guardrail``,
``@tool_output_guardrail``), attached with ``function_tool(tool_input_guardrails=[...],
tool_output_guardrails=[...])``.

An input guardrail runs before the tool (and its start hooks); an output guardrail runs on the tool's output
before its end hooks. Each returns a ``ToolGuardrailFunctionOutput`` whose behaviour is ``allow``,
``reject_content`` (the tool is skipped, or its output replaced, by a message to the model; the run goes on)
or ``raise_exception`` (the run stops with ``ToolInputGuardrailTripwireTriggered`` /
``ToolOutputGuardrailTripwireTriggered``).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, Union, overload

from typing_extensions import TypedDict

from .exceptions import UserError
from .run_context import TContext
from .tool_context import ToolContext

if TYPE_CHECKING:
    from .agent import Agent

__all__ = [
    "AllowBehavior",
    "RaiseExceptionBehavior",
    "RejectContentBehavior",
    "ToolGuardrailFunctionOutput",
    "ToolInputGuardrail",
    "ToolInputGuardrailData",
    "ToolInputGuardrailResult",
    "ToolOutputGuardrail",
    "ToolOutputGuardrailData",
    "ToolOutputGuardrailResult",
    "tool_input_guardrail",
    "tool_output_guardrail",
]


class RejectContentBehavior(TypedDict):
    type: Literal["reject_content"]
    message: str


class RaiseExceptionBehavior(TypedDict):
    type: Literal["raise_exception"]


class AllowBehavior(TypedDict):
    type: Literal["allow"]


Behavior = Union[RejectContentBehavior, RaiseExceptionBehavior, AllowBehavior]


@dataclass
class ToolGuardrailFunctionOutput:
    """A tool guardrail's verdict: ``output_info`` and what to do (allow by default)."""

    output_info: Any
    behavior: Behavior = field(default_factory=lambda: AllowBehavior(type="allow"))

    @classmethod
    def allow(cls, output_info: Any = None) -> ToolGuardrailFunctionOutput:
        return cls(output_info=output_info, behavior=AllowBehavior(type="allow"))

    @classmethod
    def reject_content(cls, message: str, output_info: Any = None) -> ToolGuardrailFunctionOutput:
        """Skip the tool (input) or replace its output (output) with ``message``; the run goes on."""
        return cls(output_info=output_info, behavior=RejectContentBehavior(type="reject_content", message=message))

    @classmethod
    def raise_exception(cls, output_info: Any = None) -> ToolGuardrailFunctionOutput:
        """Stop the run with the tool guardrail's tripwire exception."""
        return cls(output_info=output_info, behavior=RaiseExceptionBehavior(type="raise_exception"))


@dataclass
class ToolInputGuardrailData:
    """What a tool input guardrail sees: the tool's context (name, call id, arguments) and the agent."""

    context: ToolContext[Any]
    agent: Agent[Any]


@dataclass
class ToolOutputGuardrailData(ToolInputGuardrailData):
    """What a tool output guardrail sees: the input data plus the tool's output."""

    output: Any


async def _verdict(name: str, value: Any) -> ToolGuardrailFunctionOutput:
    if inspect.isawaitable(value):
        value = await value
    if not isinstance(value, ToolGuardrailFunctionOutput):
        raise UserError(f"Tool guardrail {name!r} returned {type(value).__name__}; it must return "
                        "ToolGuardrailFunctionOutput (e.g. ToolGuardrailFunctionOutput.allow())")
    kind = value.behavior.get("type") if isinstance(value.behavior, dict) else None
    if kind not in ("allow", "reject_content", "raise_exception"):
        raise UserError(f"Tool guardrail {name!r} returned an unknown behavior {value.behavior!r}; "
                        "use allow, reject_content or raise_exception")
    return value


def _name_of(function: Callable[..., Any]) -> str:
    return str(getattr(function, "__name__", type(function).__name__))


@dataclass
class ToolInputGuardrail(Generic[TContext]):
    """A check before a function tool runs."""

    guardrail_function: Callable[[ToolInputGuardrailData], Any]
    name: str | None = None

    def get_name(self) -> str:
        return self.name or _name_of(self.guardrail_function)

    async def run(self, data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        if not callable(self.guardrail_function):
            raise UserError(f"Guardrail function must be callable, got {self.guardrail_function!r}")
        return await _verdict(self.get_name(), self.guardrail_function(data))


@dataclass
class ToolOutputGuardrail(Generic[TContext]):
    """A check on a function tool's output."""

    guardrail_function: Callable[[ToolOutputGuardrailData], Any]
    name: str | None = None

    def get_name(self) -> str:
        return self.name or _name_of(self.guardrail_function)

    async def run(self, data: ToolOutputGuardrailData) -> ToolGuardrailFunctionOutput:
        if not callable(self.guardrail_function):
            raise UserError(f"Guardrail function must be callable, got {self.guardrail_function!r}")
        return await _verdict(self.get_name(), self.guardrail_function(data))


@dataclass
class ToolInputGuardrailResult:
    guardrail: ToolInputGuardrail[Any]
    output: ToolGuardrailFunctionOutput


@dataclass
class ToolOutputGuardrailResult:
    guardrail: ToolOutputGuardrail[Any]
    output: ToolGuardrailFunctionOutput


Verdict = Union[ToolGuardrailFunctionOutput, Awaitable[ToolGuardrailFunctionOutput]]
InputCheck = Callable[[ToolInputGuardrailData], Verdict]
OutputCheck = Callable[[ToolOutputGuardrailData], Verdict]


@overload
def tool_input_guardrail(func: InputCheck, /) -> ToolInputGuardrail[Any]: ...


@overload
def tool_input_guardrail(*, name: str | None = None) -> Callable[[InputCheck], ToolInputGuardrail[Any]]: ...


def tool_input_guardrail(
    func: InputCheck | None = None, /, *, name: str | None = None
) -> ToolInputGuardrail[Any] | Callable[[InputCheck], ToolInputGuardrail[Any]]:
    """Make a sync or async function a ``ToolInputGuardrail``."""

    def decorate(f: InputCheck) -> ToolInputGuardrail[Any]:
        return ToolInputGuardrail(guardrail_function=f, name=name or _name_of(f))

    return decorate(func) if func is not None else decorate


@overload
def tool_output_guardrail(func: OutputCheck, /) -> ToolOutputGuardrail[Any]: ...


@overload
def tool_output_guardrail(*, name: str | None = None) -> Callable[[OutputCheck], ToolOutputGuardrail[Any]]: ...


def tool_output_guardrail(
    func: OutputCheck | None = None, /, *, name: str | None = None
) -> ToolOutputGuardrail[Any] | Callable[[OutputCheck], ToolOutputGuardrail[Any]]:
    """Make a sync or async function a ``ToolOutputGuardrail``."""

    def decorate(f: OutputCheck) -> ToolOutputGuardrail[Any]:
        return ToolOutputGuardrail(guardrail_function=f, name=name or _name_of(f))

    return decorate(func) if func is not None else decorate
