"""Token usage, summed over every model call of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class InputTokensDetails:
    cached_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass
class OutputTokensDetails:
    reasoning_tokens: int = 0


@dataclass
class RequestUsage:
    """Usage of one model call."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: InputTokensDetails = field(default_factory=InputTokensDetails)
    output_tokens_details: OutputTokensDetails = field(default_factory=OutputTokensDetails)


@dataclass
class Usage:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_tokens_details: InputTokensDetails = field(default_factory=InputTokensDetails)
    output_tokens_details: OutputTokensDetails = field(default_factory=OutputTokensDetails)
    request_usage_entries: list[RequestUsage] = field(default_factory=list)

    def add(self, other: Usage) -> None:
        """Add another usage to this one, field by field."""
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.total_tokens += other.total_tokens
        self.input_tokens_details.cached_tokens += other.input_tokens_details.cached_tokens
        self.input_tokens_details.cache_write_tokens += other.input_tokens_details.cache_write_tokens
        self.output_tokens_details.reasoning_tokens += other.output_tokens_details.reasoning_tokens
        if other.request_usage_entries:
            self.request_usage_entries.extend(other.request_usage_entries)
        elif other.requests == 1 and (other.input_tokens or other.output_tokens):
            self.request_usage_entries.append(
                RequestUsage(
                    other.input_tokens,
                    other.output_tokens,
                    other.total_tokens,
                    InputTokensDetails(**vars(other.input_tokens_details)),
                    OutputTokensDetails(**vars(other.output_tokens_details)),
                )
            )

    @classmethod
    def from_response_usage(cls, usage: Any) -> Usage:
        """Usage of one call from an ``openai`` ``ResponseUsage`` (or ``None``: the request still counts)."""
        if usage is None:
            return cls(requests=1)
        in_details = getattr(usage, "input_tokens_details", None)
        out_details = getattr(usage, "output_tokens_details", None)
        input_tokens = int(getattr(usage, "input_tokens", 0) or 0)
        output_tokens = int(getattr(usage, "output_tokens", 0) or 0)
        return cls(
            requests=1,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=int(getattr(usage, "total_tokens", 0) or (input_tokens + output_tokens)),
            input_tokens_details=InputTokensDetails(
                cached_tokens=int(getattr(in_details, "cached_tokens", 0) or 0),
                cache_write_tokens=int(getattr(in_details, "cache_write_tokens", 0) or 0),
            ),
            output_tokens_details=OutputTokensDetails(
                reasoning_tokens=int(getattr(out_details, "reasoning_tokens", 0) or 0),
            ),
        )
