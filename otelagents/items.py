"""Run items (what a run produced), the per-call ``ModelResponse``, and ``ItemHelpers``."""

from __future__ import annotations

import copy
import json
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Union

from openai.types.responses import (
    ResponseCodeInterpreterToolCall,
    ResponseFileSearchToolCall,
    ResponseFunctionToolCall,
    ResponseFunctionWebSearch,
    ResponseOutputItem,
    ResponseOutputMessage,
    ResponseOutputRefusal,
    ResponseOutputText,
    ResponseReasoningItem,
)
from openai.types.responses.response_output_item import ImageGenerationCall
from pydantic import BaseModel

from .exceptions import ModelBehaviorError
from .usage import Usage

if TYPE_CHECKING:
    from .agent import Agent

# The output items of the hosted tools' calls (web search, file search, code interpreter, image generation).
HostedToolCall = Union[ResponseFileSearchToolCall, ResponseFunctionWebSearch, ResponseCodeInterpreterToolCall,
                       ImageGenerationCall]
TResponseInputItem = Any  # a Responses input item: a dict (or an ``openai`` model with ``model_dump``)
TResponseOutputItem = ResponseOutputItem


def _to_input_item(raw: Any) -> TResponseInputItem:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, BaseModel):
        return raw.model_dump(exclude_unset=True)
    raise TypeError(f"Cannot turn {type(raw).__name__} into an input item: expected a dict or a pydantic model")


def _raw_field(raw: Any, name: str) -> str | None:
    """A string field of a raw item, whether it is a dict or an ``openai`` model (None when absent)."""
    value = raw.get(name) if isinstance(raw, dict) else getattr(raw, name, None)
    return value if isinstance(value, str) else None


@dataclass
class _RunItemBase:
    agent: Agent[Any]
    raw_item: Any

    def __post_init__(self) -> None:
        self._agent_ref: weakref.ReferenceType[Agent[Any]] | None = (
            weakref.ref(self.agent) if self.agent is not None else None
        )

    def __getattr__(self, name: str) -> Any:
        # Only reached once release_agent() dropped the strong reference.
        if name == "agent":
            ref = self.__dict__.get("_agent_ref")
            return ref() if ref is not None else None
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def release_agent(self) -> None:
        """Drop the strong reference to the agent; ``agent`` stays readable while the agent lives."""
        self.__dict__.pop("agent", None)

    def to_input_item(self) -> TResponseInputItem:
        """This item as it goes back into the next model call's input."""
        return _to_input_item(self.raw_item)


@dataclass
class MessageOutputItem(_RunItemBase):
    """A message from the model."""

    raw_item: ResponseOutputMessage
    type: Literal["message_output_item"] = "message_output_item"


@dataclass
class ToolCallItem(_RunItemBase):
    """A tool call the model asked for (a function call, or a hosted tool's call the server ran)."""

    raw_item: ResponseFunctionToolCall | HostedToolCall
    type: Literal["tool_call_item"] = "tool_call_item"
    description: str | None = None  # the tool's description, when known
    title: str | None = None  # a short display label, when known

    @property
    def tool_name(self) -> str | None:
        return _raw_field(self.raw_item, "name")

    @property
    def call_id(self) -> str | None:
        return _raw_field(self.raw_item, "call_id") or _raw_field(self.raw_item, "id")


@dataclass
class ToolCallOutputItem(_RunItemBase):
    """The output of a tool call. ``output`` is the tool's Python return value."""

    raw_item: dict[str, Any]
    output: Any = None
    type: Literal["tool_call_output_item"] = "tool_call_output_item"
    custom_data: dict[str, Any] | None = None  # yours to attach; never sent to the model

    @property
    def call_id(self) -> str | None:
        return _raw_field(self.raw_item, "call_id") or _raw_field(self.raw_item, "id")


@dataclass
class HandoffCallItem(_RunItemBase):
    """The model asked to hand off to another agent."""

    raw_item: ResponseFunctionToolCall
    type: Literal["handoff_call_item"] = "handoff_call_item"


@dataclass
class HandoffOutputItem(_RunItemBase):
    """A handoff took place."""

    raw_item: dict[str, Any]
    source_agent: Agent[Any] | None = None
    target_agent: Agent[Any] | None = None
    type: Literal["handoff_output_item"] = "handoff_output_item"


@dataclass
class ReasoningItem(_RunItemBase):
    """A reasoning item from the model."""

    raw_item: ResponseReasoningItem
    type: Literal["reasoning_item"] = "reasoning_item"


RunItemBase = _RunItemBase  # the SDK's name for the base of every run item


RunItem = Union[
    MessageOutputItem,
    ToolCallItem,
    ToolCallOutputItem,
    HandoffCallItem,
    HandoffOutputItem,
    ReasoningItem,
]


@dataclass
class ModelResponse:
    """One model call's result."""

    output: list[TResponseOutputItem]
    usage: Usage
    response_id: str | None
    request_id: str | None = None
    raw: Any = field(default=None, repr=False)  # the final ``openai`` Response, when there is one
    raw_usage: dict[str, Any] | None = None  # the provider's usage payload (ModelSettings.preserve_raw_usage)

    def to_input_items(self) -> list[TResponseInputItem]:
        return [_to_input_item(item) for item in self.output]


class ItemHelpers:
    @classmethod
    def input_to_new_input_list(cls, input: str | list[TResponseInputItem]) -> list[TResponseInputItem]:
        """A string becomes one user message; a list is deep-copied."""
        if isinstance(input, str):
            return [{"content": input, "role": "user"}]
        return copy.deepcopy(list(input))

    @classmethod
    def extract_last_content(cls, message: TResponseOutputItem) -> str:
        if not isinstance(message, ResponseOutputMessage):
            return ""
        if not message.content:
            return ""
        last = message.content[-1]
        if isinstance(last, ResponseOutputText):
            return last.text or ""
        if isinstance(last, ResponseOutputRefusal):
            return last.refusal
        raise ModelBehaviorError(f"Unexpected content type in message: {type(last).__name__}")

    @classmethod
    def extract_last_text(cls, message: TResponseOutputItem) -> str | None:
        if isinstance(message, ResponseOutputMessage) and message.content:
            last = message.content[-1]
            if isinstance(last, ResponseOutputText):
                return last.text
        return None

    @classmethod
    def extract_text(cls, message: TResponseOutputItem) -> str | None:
        """All ``output_text`` parts joined, or ``None`` when there are none."""
        if not isinstance(message, ResponseOutputMessage):
            return None
        # A None text part (seen from some gateways and model_construct) counts as empty, as in the SDK.
        text = "".join(part.text or "" for part in message.content if isinstance(part, ResponseOutputText))
        return text or None

    @classmethod
    def extract_refusal(cls, message: TResponseOutputItem) -> str | None:
        if not isinstance(message, ResponseOutputMessage):
            return None
        refusals = [part.refusal for part in message.content if isinstance(part, ResponseOutputRefusal)]
        return "".join(refusals) if refusals else None

    @classmethod
    def text_message_output(cls, message: MessageOutputItem) -> str:
        """The text of a message item (refusals skipped)."""
        return "".join(
            part.text or "" for part in message.raw_item.content if isinstance(part, ResponseOutputText)
        )

    @classmethod
    def text_message_outputs(cls, items: list[RunItem]) -> str:
        return "".join(cls.text_message_output(item) for item in items if isinstance(item, MessageOutputItem))

    @classmethod
    def tool_call_output_item(cls, tool_call: ResponseFunctionToolCall, output: Any) -> dict[str, Any]:
        """The ``function_call_output`` input item for a tool's result."""
        return {"call_id": tool_call.call_id, "output": _output_to_wire(output), "type": "function_call_output"}


def _output_to_wire(output: Any) -> Any:
    if isinstance(output, str):
        return output
    if isinstance(output, list) and output and all(isinstance(x, dict) and "type" in x for x in output):
        return output  # already structured content
    if isinstance(output, BaseModel):
        return output.model_dump_json()
    if isinstance(output, (dict, list)):
        try:
            return json.dumps(output)
        except (TypeError, ValueError):
            return str(output)
    return str(output)


def __getattr__(name: str) -> Any:
    # An Agents SDK name otelagents does not offer: say so, and what to use instead.
    from ._unsupported import sdk_only

    raise sdk_only(name, __name__) or AttributeError(f"module {__name__!r} has no attribute {name!r}")
