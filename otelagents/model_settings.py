"""Per-call model parameters. Every field defaults to ``None``, meaning "unset: do not send"."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal


@dataclass
class ModelSettings:
    temperature: float | None = None
    top_p: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    tool_choice: Literal["auto", "required", "none"] | str | None = None
    parallel_tool_calls: bool | None = None
    truncation: Literal["auto", "disabled"] | None = None
    max_tokens: int | None = None
    reasoning: Any | None = None
    verbosity: Literal["low", "medium", "high"] | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    include_usage: bool | None = None
    response_include: list[str] | None = None
    top_logprobs: int | None = None
    extra_query: dict[str, Any] | None = None
    extra_body: dict[str, Any] | None = None
    extra_headers: dict[str, str] | None = None
    extra_args: dict[str, Any] | None = None
    timeout: float | None = None
    # Keep the provider's usage payload on ModelResponse.raw_usage (as in the SDK); never sent.
    preserve_raw_usage: bool | None = None
    # Sent as they are on the Responses API, as the SDK sends them.
    prompt_cache_retention: Literal["in_memory", "24h"] | None = None
    prompt_cache_options: dict[str, Any] | None = None
    context_management: list[Any] | None = None
    # The SDK's retry policies are not implemented: setting one raises UserError (the openai client's
    # max_retries is the alternative).
    retry: Any = None

    def __post_init__(self) -> None:
        _check_timeout(self.timeout)
        if self.retry is not None:
            from .exceptions import UserError

            raise UserError(
                "ModelSettings.retry is not supported by otelagents' runner; set max_retries on the openai "
                "client instead, or run the Agents SDK itself with the telemetry plugin "
                "(otelagents.instrumentation.OpenAIAgentsInstrumentor)."
            )

    def resolve(self, override: ModelSettings | None) -> ModelSettings:
        """A copy where the override's set (non-``None``) fields win; ``extra_args`` and headers merge."""
        if override is None:
            return dataclasses.replace(self)
        changes = {
            f.name: getattr(override, f.name) for f in fields(self) if getattr(override, f.name) is not None
        }
        for name in ("extra_args", "extra_headers"):
            mine, theirs = getattr(self, name), getattr(override, name)
            if mine and theirs:
                changes[name] = {**mine, **theirs}
        return dataclasses.replace(self, **changes)

    def _with_headers(self, headers: Mapping[str, str]) -> ModelSettings:
        """A copy with ``headers`` merged over ``extra_headers`` (theirs win), as ``resolve`` merges them; made
        for every model call that propagates a trace context, so it copies a checked instance as it is.
        Private: the SDK's ``ModelSettings`` has no such method, and the drop-in surface stays the SDK's."""
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.extra_headers = {**self.extra_headers, **headers} if self.extra_headers else dict(headers)
        return copy

    def to_json_dict(self) -> dict[str, Any]:
        """The set fields only, as plain JSON values."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


def _check_timeout(timeout: Any) -> None:
    """``timeout`` bounds each model call (as in the SDK): a finite number of seconds above zero, or None."""
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
        from .exceptions import UserError

        raise UserError(f"ModelSettings.timeout must be a finite number of seconds greater than 0, or None "
                        f"(no deadline); got {timeout!r}.")
