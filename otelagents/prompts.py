"""Prompt templates stored on the OpenAI platform (``Agent(prompt=...)``), as in the SDK's ``agents.prompts``.

A ``Prompt`` (``{"id": ..., "version": ..., "variables": {...}}``) or a function that makes one per run
is sent with each Responses API call of the agent.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from typing_extensions import NotRequired, TypedDict

from .exceptions import UserError
from .run_context import RunContextWrapper

if TYPE_CHECKING:
    from .agent import Agent


class Prompt(TypedDict):
    """A stored prompt: its id, optionally a version and the variables to fill in."""

    id: str
    version: NotRequired[str]
    variables: NotRequired[dict[str, Any]]


@dataclass
class GenerateDynamicPromptData:
    """What a dynamic prompt function receives."""

    context: RunContextWrapper[Any]
    agent: Agent[Any]


DynamicPromptFunction = Callable[[GenerateDynamicPromptData], Union[Prompt, Awaitable[Prompt]]]


class PromptUtil:
    @staticmethod
    async def to_model_input(
        prompt: Prompt | DynamicPromptFunction | None, context: RunContextWrapper[Any], agent: Agent[Any]
    ) -> dict[str, Any] | None:
        """The ``prompt`` parameter of a Responses call, or None."""
        if prompt is None:
            return None
        if isinstance(prompt, dict):
            resolved: Any = prompt
        else:
            resolved = prompt(GenerateDynamicPromptData(context=context, agent=agent))
            if inspect.isawaitable(resolved):
                resolved = await resolved
            if not isinstance(resolved, dict):
                raise UserError(
                    f"Dynamic prompt function must return a Prompt, not {type(resolved).__name__}"
                )
        if "id" not in resolved:
            raise UserError(f"A Prompt needs an 'id' (the stored prompt's id); got keys {sorted(resolved)}")
        return {"id": resolved["id"], "version": resolved.get("version"), "variables": resolved.get("variables")}
