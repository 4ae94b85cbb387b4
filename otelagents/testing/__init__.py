"""Test and demo helpers: the offline scripted model (and, in submodules, local servers and receivers)."""

from .scripted import (
    ScriptedModel,
    ScriptRequest,
    Turn,
    failure,
    handoff,
    raise_error,
    refusal,
    split_tokens,
    text,
    tool_call,
)

__all__ = [
    "ScriptRequest",
    "ScriptedModel",
    "Turn",
    "failure",
    "handoff",
    "raise_error",
    "refusal",
    "split_tokens",
    "text",
    "tool_call",
]
