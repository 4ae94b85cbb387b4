"""Turn Responses SSE events into genuine ``openai`` event instances, fast.

The ``openai`` client parses each event by loosely constructing the whole ``ResponseStreamEvent`` union,
which costs about 200 µs per event. Here the class is picked first, from the SSE ``event:`` name (the
Responses API always sends it, and it equals ``data.type``), and the raw bytes go straight to that class's
``model_validate_json``: one pass in pydantic-core, about 4 µs for a text delta. Validation is also the
check that the name was right, since every event class pins ``type`` to a literal.

When that fast path does not apply (no ``event:`` line, a name that does not match ``data.type``, or a
server that leaves out a required field), the data is parsed with ``json.loads``, dispatched on
``data["type"]`` and validated with that one class; an event that still does not validate is built with
the client's own lenient construction, as the client itself would, so nothing a server sends is lost.
An unknown event type becomes a plain ``openai.BaseModel`` holding every field (the client's loose union
construction would dress it up as whichever event class matches first, e.g. an audio delta, which would
fool ``isinstance`` checks). Data that is not a JSON object is a ``ModelBehaviorError`` naming the event.
"""

from __future__ import annotations

import json
import logging
import typing
from collections.abc import Callable
from typing import Any

import openai
import pydantic
from openai.types.responses import ResponseStreamEvent

from ..exceptions import ModelBehaviorError

logger = logging.getLogger("otelagents")

TERMINAL_EVENT_TYPES = frozenset({"response.completed", "response.failed", "response.incomplete", "error"})

_TEXT_EVENTS = frozenset({"response.output_text.delta", "response.output_text.done"})

_classes: dict[str, type[pydantic.BaseModel]] | None = None


def event_classes() -> dict[str, type[pydantic.BaseModel]]:
    """``data.type`` -> the ``openai`` event class, for every member of ``ResponseStreamEvent``."""
    global _classes
    if _classes is None:
        table: dict[str, type[pydantic.BaseModel]] = {}
        union = typing.get_args(ResponseStreamEvent)[0]  # Annotated[Union[...], PropertyInfo]
        for cls in typing.get_args(union):
            for literal in typing.get_args(cls.model_fields["type"].annotation):
                table[literal] = cls
        _classes = table
    return _classes


def _lenient(cls: Any, data: dict[str, Any]) -> Any:
    from openai._models import construct_type  # the client's own loose construction

    return construct_type(type_=cls, value=data)


def _describe(event_name: str | None, data: bytes) -> str:
    snippet = data[:120].decode("utf-8", "replace")
    return f"SSE event {event_name or '(unnamed)'!r} with data {snippet!r}"


def decode_event(event_name: str | None, data: bytes) -> ResponseStreamEvent:
    """One Responses event from an SSE ``event:`` name and its ``data:`` bytes."""
    classes = _classes if _classes is not None else event_classes()
    if event_name is not None:
        cls = classes.get(event_name)
        if cls is not None:
            try:
                return cls.model_validate_json(data)  # type: ignore[return-value]
            except pydantic.ValidationError:
                pass  # the slow path below says what is wrong, or builds it leniently
    return decode_data(event_name, data)


def decode_data(event_name: str | None, data: bytes) -> ResponseStreamEvent:
    """The slow path: ``json.loads``, dispatch on ``data["type"]``, validate, else construct leniently."""
    try:
        parsed = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelBehaviorError(
            f"Could not decode {_describe(event_name, data)} from the Responses stream: {exc}. "
            "The server sent data that is not JSON."
        ) from exc
    if not isinstance(parsed, dict):
        raise ModelBehaviorError(
            f"Could not decode {_describe(event_name, data)} from the Responses stream: "
            f"expected a JSON object, got {type(parsed).__name__}."
        )
    event_type = parsed.get("type")
    cls = (_classes if _classes is not None else event_classes()).get(event_type)  # type: ignore[arg-type]
    if cls is None:
        logger.debug("Unknown Responses event type %r; kept as a plain openai.BaseModel", event_type)
        return openai.BaseModel.construct(**parsed)  # type: ignore[return-value]
    if event_type in _TEXT_EVENTS and "logprobs" not in parsed:
        parsed["logprobs"] = []  # required since openai 1.9x; some compatible servers leave it out
    try:
        return cls.model_validate(parsed)  # type: ignore[return-value]
    except pydantic.ValidationError as exc:
        logger.debug("Responses event %r does not validate (%s); building it leniently", event_type, exc)
        return _lenient(cls, parsed)  # type: ignore[no-any-return]


Decoder = Callable[["str | None", bytes], ResponseStreamEvent]
