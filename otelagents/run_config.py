"""Run-wide settings (``RunConfig``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .model_settings import ModelSettings

if TYPE_CHECKING:
    from .guardrail import InputGuardrail, OutputGuardrail
    from .handoffs import HandoffInputFilter
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


@dataclass
class RunConfig:
    model: str | Model | None = None
    model_provider: ModelProvider | None = None
    model_settings: ModelSettings | None = None
    handoff_input_filter: HandoffInputFilter | None = None
    input_guardrails: list[InputGuardrail[Any]] | None = None
    output_guardrails: list[OutputGuardrail[Any]] | None = None
    workflow_name: str = "Agent workflow"
    trace_id: str | None = None
    group_id: str | None = None
    trace_metadata: dict[str, Any] | None = None
    tracing_disabled: bool = False
    trace_include_sensitive_data: bool = field(default_factory=_default_sensitive)
    tool_not_found_behavior: Literal["raise", "return_error_to_model"] = "raise"
    max_function_tool_concurrency: int | None = None
    observers: list[RunObserver] = field(default_factory=list)

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
