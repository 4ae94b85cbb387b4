"""Exceptions raised by otelagents. Each subclass says whose fault it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .agent import Agent
    from .items import ModelResponse, RunItem
    from .run_context import RunContextWrapper


@dataclass
class RunErrorDetails:
    """What the run had produced when it failed (``exc.run_data``)."""

    input: Any
    new_items: list[RunItem]
    raw_responses: list[ModelResponse]
    last_agent: Agent[Any]
    context_wrapper: RunContextWrapper[Any]
    input_guardrail_results: list[Any] = field(default_factory=list)
    output_guardrail_results: list[Any] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"RunErrorDetails(last_agent={self.last_agent.name!r}, new_items={len(self.new_items)}, "
            f"raw_responses={len(self.raw_responses)})"
        )


class AgentsException(Exception):
    """Base class for every otelagents error."""

    run_data: RunErrorDetails | None

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.run_data = None


class MaxTurnsExceeded(AgentsException):
    """The run needed more model calls than ``max_turns`` allows."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ModelBehaviorError(AgentsException):
    """The model did something unexpected: an unknown tool, malformed JSON, a failed response."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UserError(AgentsException):
    """The code using otelagents made a mistake (bad configuration, a tool that raised when told to)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ModelRefusalError(AgentsException):
    """The model refused to answer."""

    def __init__(self, refusal: str) -> None:
        super().__init__(f"The model refused to answer: {refusal}")
        self.refusal = refusal


class ModelTimeoutError(AgentsException):
    """A model call ran longer than ``ModelSettings.timeout`` (one deadline for the request and the whole
    stream; raise the timeout, or leave it unset, if the model legitimately needs longer)."""

    def __init__(self, timeout_seconds: float) -> None:
        super().__init__(f"Model call timed out after {timeout_seconds:g} seconds.")
        self.timeout_seconds = timeout_seconds


class ToolTimeoutError(AgentsException):
    """A tool ran longer than its ``timeout``."""

    def __init__(self, tool_name: str, timeout_seconds: float) -> None:
        super().__init__(f"Tool '{tool_name}' timed out after {timeout_seconds} seconds.")
        self.tool_name = tool_name
        self.timeout_seconds = timeout_seconds


class InputGuardrailTripwireTriggered(AgentsException):
    """An input guardrail's tripwire fired; ``guardrail_result`` says which and why."""

    def __init__(self, guardrail_result: Any) -> None:
        super().__init__(f"Guardrail {type(guardrail_result.guardrail).__name__} triggered tripwire")
        self.guardrail_result = guardrail_result


class OutputGuardrailTripwireTriggered(AgentsException):
    """An output guardrail's tripwire fired; ``guardrail_result`` says which and why."""

    def __init__(self, guardrail_result: Any) -> None:
        super().__init__(f"Guardrail {type(guardrail_result.guardrail).__name__} triggered tripwire")
        self.guardrail_result = guardrail_result


class ToolInputGuardrailTripwireTriggered(AgentsException):
    """A tool input guardrail chose ``raise_exception``: ``guardrail`` and its ``output`` say which and why."""

    def __init__(self, guardrail: Any, output: Any) -> None:
        super().__init__(f"Tool input guardrail {type(guardrail).__name__} triggered tripwire")
        self.guardrail = guardrail
        self.output = output


class ToolOutputGuardrailTripwireTriggered(AgentsException):
    """A tool output guardrail chose ``raise_exception``: ``guardrail`` and its ``output`` say which and why."""

    def __init__(self, guardrail: Any, output: Any) -> None:
        super().__init__(f"Tool output guardrail {type(guardrail).__name__} triggered tripwire")
        self.guardrail = guardrail
        self.output = output
