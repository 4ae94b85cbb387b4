"""Run-wide settings (``RunConfig``)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal

from .model_settings import ModelSettings
from .run_context import TContext

if TYPE_CHECKING:
    from .agent import Agent
    from .guardrail import InputGuardrail, OutputGuardrail
    from .handoffs import HandoffInputFilter
    from .memory.session import SessionInputCallback, SessionSettings
    from .models.interface import Model, ModelProvider
    from .observer import RunObserver


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _default_sensitive() -> bool:
    # Content capture is off unless asked for (the Agents SDK defaults to on; we deliberately do not).
    return _env_flag("OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA", False)


ReasoningItemIdPolicy = Literal["preserve", "omit"]


@dataclass
class ModelInputData:
    """The input and instructions of one model call (what ``call_model_input_filter`` may change)."""

    input: list[Any]
    instructions: str | None


@dataclass
class CallModelData(Generic[TContext]):
    """What ``call_model_input_filter`` receives before each model call."""

    model_data: ModelInputData
    agent: Agent[TContext]
    context: TContext | None


CallModelInputFilter = Callable[[CallModelData[Any]], "ModelInputData | Awaitable[ModelInputData]"]


@dataclass
class RunConfig:
    model: str | Model | None = None
    model_provider: ModelProvider | None = None
    model_settings: ModelSettings | None = None
    handoff_input_filter: HandoffInputFilter | None = None
    input_guardrails: list[InputGuardrail[Any]] | None = None
    output_guardrails: list[OutputGuardrail[Any]] | None = None
    session_input_callback: SessionInputCallback | None = None
    session_settings: SessionSettings | None = None
    workflow_name: str = "Agent workflow"
    trace_id: str | None = None
    group_id: str | None = None
    trace_metadata: dict[str, Any] | None = None
    tracing_disabled: bool = False
    trace_include_sensitive_data: bool = field(default_factory=_default_sensitive)
    tool_not_found_behavior: Literal["raise_error", "raise", "return_error_to_model"] = "raise_error"
    max_function_tool_concurrency: int | None = None
    observers: list[RunObserver] = field(default_factory=list)
    # The Agents SDK's settings, with its meaning (see its RunConfig):
    call_model_input_filter: CallModelInputFilter | None = None
    nest_handoff_history: bool = False
    handoff_history_mapper: Callable[[list[Any]], list[Any]] | None = None
    reasoning_item_id_policy: ReasoningItemIdPolicy | None = None
    # The SDK's settings otelagents' runner does not implement: setting one raises UserError.
    tool_name_collision_policy: Literal["warn", "error"] | None = None
    tool_error_formatter: Any = None
    output_guardrail_blocked_message: Any = None
    tool_execution: Any = None
    sandbox: Any = None
    tracing: Any = None

    def __post_init__(self) -> None:
        from .exceptions import UserError

        if self.tool_not_found_behavior not in ("raise_error", "raise", "return_error_to_model"):
            raise UserError(
                f"tool_not_found_behavior must be 'raise_error' or 'return_error_to_model', "
                f"not {self.tool_not_found_behavior!r}"
            )
        if self.reasoning_item_id_policy not in (None, "preserve", "omit"):
            raise UserError(
                f"reasoning_item_id_policy must be 'preserve', 'omit' or None, not {self.reasoning_item_id_policy!r}"
            )
        for name in _SDK_ONLY:
            if getattr(self, name) is not None:
                raise UserError(
                    f"RunConfig.{name} is not supported by otelagents' runner; leave it unset, or run the Agents "
                    "SDK itself with the telemetry plugin: `from otelagents.instrumentation import "
                    "OpenAIAgentsInstrumentor; OpenAIAgentsInstrumentor().instrument()`."
                )

    @classmethod
    def coerce(cls, value: RunConfig | dict[str, Any] | None) -> RunConfig:
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            try:
                return cls(**value)
            except TypeError as exc:
                from .exceptions import UserError

                raise UserError(f"Invalid run_config dict: {exc}") from exc
        from .exceptions import UserError

        raise UserError(f"run_config must be a RunConfig or a dict, not {type(value).__name__}")


_SDK_ONLY = ("tool_name_collision_policy", "tool_error_formatter", "output_guardrail_blocked_message",
             "tool_execution", "sandbox", "tracing")
