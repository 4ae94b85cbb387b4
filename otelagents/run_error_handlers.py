"""Run error handlers (``Runner.run(..., error_handlers={...})``): turn some run errors into a final output.

As in the Agents SDK: a handler keyed ``"max_turns"``, ``"model_refusal"`` or ``"invalid_final_output"``
receives the error, the context and a snapshot of the run, and returns a final output (a
``RunErrorHandlerResult``, a ``{"final_output": ...}`` dict, or the value itself) or ``None`` to let the
error propagate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic

from typing_extensions import TypedDict

from .items import ModelResponse, RunItem, TResponseInputItem
from .run_context import RunContextWrapper, TContext

if TYPE_CHECKING:
    from .agent import Agent
    from .exceptions import MaxTurnsExceeded, ModelBehaviorError, ModelRefusalError


@dataclass
class RunErrorData:
    """What the run had produced when the error happened."""

    input: str | list[TResponseInputItem]
    new_items: list[RunItem]
    history: list[TResponseInputItem]
    output: list[TResponseInputItem]
    raw_responses: list[ModelResponse]
    last_agent: Agent[Any]


@dataclass
class RunErrorHandlerInput(Generic[TContext]):
    error: MaxTurnsExceeded | ModelRefusalError | ModelBehaviorError
    context: RunContextWrapper[TContext]
    run_data: RunErrorData


@dataclass
class RunErrorHandlerResult:
    """A handler's answer: the run's final output, and whether it goes into the history as a message."""

    final_output: Any
    include_in_history: bool = True


RunErrorHandler = Callable[[RunErrorHandlerInput[Any]], Any]


class RunErrorHandlers(TypedDict, Generic[TContext], total=False):
    """Error handlers keyed by error kind."""

    max_turns: RunErrorHandler
    model_refusal: RunErrorHandler
    invalid_final_output: RunErrorHandler


__all__ = [
    "RunErrorData",
    "RunErrorHandler",
    "RunErrorHandlerInput",
    "RunErrorHandlerResult",
    "RunErrorHandlers",
]
