"""Message content for spans: when to capture it, its JSON shape, and how it is cut to size.

Capture is off by default. It is on for a run when any of these holds:

* ``Telemetry(capture_content=True)`` (``capture_content=False`` turns it off for good, whatever else says);
* ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` is ``true``, ``SPAN_ONLY`` or ``SPAN_AND_EVENT``
  (case-insensitive). ``NO_CONTENT``, ``false`` and unset mean off; ``EVENT_ONLY`` also means off, because
  otelagents puts content on spans only. Any other value logs a warning once and means off;
* the run asked for it: ``RunConfig(trace_include_sensitive_data=True)``.

Shapes follow the GenAI conventions' JSON schemas, serialized to a JSON string as span attributes:
``gen_ai.system_instructions`` is a list of parts; ``gen_ai.input.messages`` / ``gen_ai.output.messages``
are lists of ``{"role": ..., "parts": [...]}`` (output messages also carry ``finish_reason``). Parts are
``text``, ``tool_call`` (id, name, arguments), ``tool_call_response`` (id, response), ``reasoning``, and
``uri``/generic parts for anything else.

Every value is cut to ``max_length`` characters. JSON values are cut structure-preservingly: the longest
strings inside are shortened (ending in ``…``) until the document fits, so it stays valid JSON; only when
the structure alone is too long is the text cut flat (ending in ``…[truncated]``). Strings of up to 64
characters (roles, part types, ids, tool names) are never shortened.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

from otelagents.telemetry import semconv

logger = logging.getLogger("otelagents.telemetry")

DEFAULT_MAX_LENGTH = 8192
_ON = frozenset(("true", "span_only", "span_and_event"))
_OFF = frozenset(("", "false", "no_content", "event_only"))
_warned: set[str] = set()
_ELLIPSIS = "…"
_CUT = "…[truncated]"
_HEAD_CUT = "[truncated]…"
_KEEP = 64


def capture_from_env() -> bool:
    """Whether ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` asks for content on spans."""
    raw = os.environ.get(semconv.ENV_CAPTURE_MESSAGE_CONTENT)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in _ON:
        return True
    if value not in _OFF and raw not in _warned:
        _warned.add(raw)
        logger.warning(
            "%s=%r is not a known value; message content is NOT captured. Use NO_CONTENT, SPAN_ONLY or "
            "SPAN_AND_EVENT (or true/false).", semconv.ENV_CAPTURE_MESSAGE_CONTENT, raw,
        )
    return False


# --- size limits ----------------------------------------------------------------------------------------

def cut_text(text: str, max_length: int) -> str:
    """``text`` unchanged if it fits, else its head followed by ``…[truncated]`` (``max_length`` long)."""
    if len(text) <= max_length:
        return text
    if max_length <= len(_CUT):
        return text[:max_length]
    return text[: max_length - len(_CUT)] + _CUT


def cut_head(text: str, max_length: int) -> str:
    """``text`` unchanged if it fits, else ``[truncated]…`` followed by its tail (``max_length`` long)."""
    if len(text) <= max_length:
        return text
    if max_length <= len(_HEAD_CUT):
        return text[len(text) - max_length:] if max_length > 0 else ""
    return _HEAD_CUT + text[len(text) - (max_length - len(_HEAD_CUT)):]


def _cap_strings(value: Any, cap: int) -> Any:
    if isinstance(value, str):  # short strings (roles, part types, ids) are never shortened
        return value if len(value) <= max(cap, _KEEP) else value[:cap] + _ELLIPSIS
    if isinstance(value, dict):
        return {k: _cap_strings(v, cap) for k, v in value.items()}
    if isinstance(value, list):
        return [_cap_strings(v, cap) for v in value]
    return value


def _longest_string(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return max((_longest_string(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max((_longest_string(v) for v in value), default=0)
    return 0


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def json_within(value: Any, max_length: int) -> str:
    """``value`` as a JSON string of at most ``max_length`` characters (see the module docstring)."""
    text = _dumps(value)
    if len(text) <= max_length:
        return text
    lo, hi = 0, _longest_string(value)
    best: str | None = None
    while lo <= hi:  # the largest per-string cap that fits
        mid = (lo + hi) // 2
        candidate = _dumps(_cap_strings(value, mid))
        if len(candidate) <= max_length:
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return best if best is not None else cut_text(text, max_length)


# --- message shapes -------------------------------------------------------------------------------------

def _plain(item: Any) -> Any:
    dump: Callable[..., Any] | None = getattr(item, "model_dump", None)
    if dump is not None:
        return dump(exclude_unset=True)
    return item


def _json_or_text(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _part(part: Any) -> dict[str, Any]:
    part = _plain(part)
    if isinstance(part, str):
        return {"type": "text", "content": part}
    if not isinstance(part, dict):
        return {"type": "text", "content": str(part)}
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "content": part.get("text", "")}
    if kind == "refusal":
        return {"type": "refusal", "content": part.get("refusal", "")}
    if kind == "input_image":
        url = part.get("image_url")
        return {"type": "uri", "modality": "image", "uri": url} if url else {"type": "image"}
    return {"type": str(kind or "unknown")}


def _parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if isinstance(content, (list, tuple)):
        return [_part(p) for p in content]
    return [_part(content)]


def _reasoning_text(item: dict[str, Any]) -> str:
    pieces = item.get("summary") or item.get("content") or []
    texts = [(_plain(p) or {}).get("text", "") for p in pieces if isinstance(_plain(p), dict)]
    return "\n".join(t for t in texts if t)


def _tool_call_part(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_call", "id": item.get("call_id"), "name": item.get("name"),
            "arguments": _json_or_text(item.get("arguments"))}


def input_message(item: Any) -> dict[str, Any]:
    """One Responses input item as a conventions message."""
    item = _plain(item)
    if not isinstance(item, dict):
        return {"role": "user", "parts": _parts(item)}
    kind, role = item.get("type"), item.get("role")
    if role is not None and kind in (None, "message"):
        return {"role": role, "parts": _parts(item.get("content"))}
    if kind == "function_call":
        return {"role": "assistant", "parts": [_tool_call_part(item)]}
    if kind == "function_call_output":
        return {"role": "tool", "parts": [{"type": "tool_call_response", "id": item.get("call_id"),
                                           "response": item.get("output")}]}
    if kind == "reasoning":
        return {"role": "assistant", "parts": [{"type": "reasoning", "content": _reasoning_text(item)}]}
    return {"role": role or "user", "parts": [{"type": str(kind or "unknown")}]}


def input_messages(items: list[Any]) -> list[dict[str, Any]]:
    return [input_message(item) for item in items]


def system_instructions(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "content": text}]


def output_messages(output: list[Any], finish_reason: str) -> list[dict[str, Any]]:
    """A model response's output items as one assistant message."""
    parts: list[dict[str, Any]] = []
    for raw in output:
        item = _plain(raw)
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "message":
            parts.extend(_parts(item.get("content")))
        elif kind == "function_call":
            parts.append(_tool_call_part(item))
        elif kind == "reasoning":
            parts.append({"type": "reasoning", "content": _reasoning_text(item)})
        else:
            parts.append({"type": str(kind or "unknown")})
    return [{"role": "assistant", "parts": parts, "finish_reason": finish_reason}]


def tool_result_text(output: Any) -> str:
    """A tool's return value as the text recorded in ``gen_ai.tool.call.result``."""
    if isinstance(output, str):
        return output
    dump_json: Callable[[], str] | None = getattr(output, "model_dump_json", None)
    if dump_json is not None:
        return dump_json()
    try:
        return _dumps(output)
    except (TypeError, ValueError):
        return str(output)
