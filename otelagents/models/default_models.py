"""The model (and its settings) used when an agent names none, as in the Agents SDK 0.24.0.

``OPENAI_DEFAULT_MODEL`` (lower-cased) wins; otherwise ``gpt-5.6-luna``. GPT-5 models get the SDK's
default reasoning settings when the agent leaves its ``model_settings`` at their default.
"""

from __future__ import annotations

import os
import re
from typing import Literal

from ..model_settings import ModelSettings

OPENAI_DEFAULT_MODEL_ENV_VARIABLE_NAME = "OPENAI_DEFAULT_MODEL"
DEFAULT_MODEL = "gpt-5.6-luna"

GPT5DefaultReasoningEffort = Literal["none", "low", "medium"]

_CHAT_MODELS = tuple(re.compile(p) for p in (
    r"^gpt-5-chat-latest$", r"^gpt-5\.1-chat-latest$", r"^gpt-5\.2-chat-latest$", r"^gpt-5\.3-chat-latest$",
))
_DATED = r"(?:-\d{4}-\d{2}-\d{2})?$"
_EFFORT_PATTERNS: tuple[tuple[str, GPT5DefaultReasoningEffort], ...] = (
    (r"^gpt-5" + _DATED, "low"),
    (r"^gpt-5\.1" + _DATED, "none"),
    (r"^gpt-5\.2" + _DATED, "none"),
    (r"^gpt-5\.2-pro" + _DATED, "medium"),
    (r"^gpt-5\.2-codex$", "low"),
    (r"^gpt-5\.3-codex$", "none"),
    (r"^gpt-5\.4" + _DATED, "none"),
    (r"^gpt-5\.4-pro" + _DATED, "medium"),
    (r"^gpt-5\.4-mini" + _DATED, "none"),
    (r"^gpt-5\.4-nano" + _DATED, "none"),
    (r"^gpt-5\.5" + _DATED, "none"),
    (r"^gpt-5\.6" + _DATED, "none"),
    (r"^gpt-5\.6-sol" + _DATED, "none"),
    (r"^gpt-5\.6-terra" + _DATED, "none"),
    (r"^gpt-5\.6-luna" + _DATED, "none"),
)
_EFFORTS = tuple((re.compile(pattern), effort) for pattern, effort in _EFFORT_PATTERNS)


def get_default_model() -> str:
    """The model name used when none is given."""
    return os.getenv(OPENAI_DEFAULT_MODEL_ENV_VARIABLE_NAME, DEFAULT_MODEL).lower()


def gpt_5_reasoning_settings_required(model_name: str) -> bool:
    """True for GPT-5 models (except the chat-latest ones), which get default reasoning settings."""
    if any(pattern.fullmatch(model_name) for pattern in _CHAT_MODELS):
        return False
    return model_name.startswith("gpt-5")


def is_gpt_5_default() -> bool:
    return gpt_5_reasoning_settings_required(get_default_model())


def get_default_model_settings(model: str | None = None) -> ModelSettings:
    """The settings an agent gets by default for ``model`` (the default model when None)."""
    from openai.types.shared import Reasoning

    name = model if model is not None else get_default_model()
    if not gpt_5_reasoning_settings_required(name):
        return ModelSettings()
    for pattern, effort in _EFFORTS:
        if pattern.fullmatch(name):
            return ModelSettings(reasoning=Reasoning(effort=effort), verbosity="low")
    return ModelSettings(verbosity="low")
