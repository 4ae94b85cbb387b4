"""``nest_handoff_history``: the next agent sees the conversation so far as one summary message.

As in the Agents SDK 0.24.0: the run's input, the earlier items and this turn's items become a numbered
transcript inside ``<CONVERSATION HISTORY>`` markers in one assistant message (a summary made by an
earlier handoff is unpacked into it rather than nested); messages that are not the model's own (a user
message, say) are forwarded as they are, after the summary of what came before them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from .handoffs import HandoffInputData
from .items import ItemHelpers, RunItem

HandoffHistoryMapper = Callable[[list[Any]], list[Any]]

_START, _END = "<CONVERSATION HISTORY>", "</CONVERSATION HISTORY>"
_PREAMBLE = "For context, here is the conversation so far between the user and the previous agent:"
_PREAMBLES = {_PREAMBLE, "For context, here is the conversation so far:"}
_SUMMARY_ONLY_TYPES = {"function_call", "function_call_output", "reasoning"}
_ROLES = frozenset({"user", "assistant", "system", "developer"})
_wrappers = [_START, _END]


def get_conversation_history_wrappers() -> tuple[str, str]:
    """The start and end markers around the summarized transcript."""
    return _wrappers[0], _wrappers[1]


def set_conversation_history_wrappers(*, start: str | None = None, end: str | None = None) -> None:
    if start is not None:
        _wrappers[0] = start
    if end is not None:
        _wrappers[1] = end


def reset_conversation_history_wrappers() -> None:
    _wrappers[:] = [_START, _END]


def default_handoff_history_mapper(transcript: list[Any]) -> list[Any]:
    """One assistant message summarizing ``transcript``."""
    lines = [f"{i + 1}. {_format(item)}" for i, item in enumerate(transcript)] or ["(no previous turns recorded)"]
    start, end = get_conversation_history_wrappers()
    return [{"role": "assistant", "content": "\n".join([_PREAMBLE, start, *lines, end])}]


def nest_handoff_history(data: HandoffInputData, *, history_mapper: HandoffHistoryMapper | None = None
                         ) -> HandoffInputData:
    """``data`` with the history summarized for the next agent (``new_items`` kept for the result)."""
    history = data.input_history
    items = ItemHelpers.input_to_new_input_list(history) if isinstance(history, str) else copy.deepcopy(list(history))
    flattened = [_clean(i) for item in items for i in (_unpack(item) or [copy.deepcopy(item)])]
    earlier = [(_plain(item), _forward_earlier) for item in data.pre_handoff_items]
    latest = [(_plain(item), _forward_latest) for item in data.new_items]
    normalized = [(plain, rule(plain)) for plain, rule in earlier + latest]
    if history_mapper is not None:
        mapped = history_mapper(flattened + [plain for plain, _ in normalized])
    else:
        mapped = _ordered_history(flattened, normalized)
    return data.clone(input_history=tuple(copy.deepcopy(mapped)), pre_handoff_items=(), input_items=())


def _ordered_history(flattened: list[Any], normalized: list[tuple[Any, bool]]) -> list[Any]:
    history: list[Any] = []
    pending = list(flattened)
    for plain, forward in normalized:
        if not forward:
            pending.append(plain)
            continue
        if pending or not history:
            history.extend(default_handoff_history_mapper(pending))
            pending = []
        history.append(plain)
    if pending or not history:
        history.extend(default_handoff_history_mapper(pending))
    return history


def _plain(item: RunItem) -> Any:
    value = copy.deepcopy(item.to_input_item())
    if isinstance(value, dict) and value.get("status", "") is None:
        value.pop("status")
    return value


def _clean(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    return {k: v for k, v in item.items() if k not in ("created_by",)}


def _programmatic(item: dict[str, Any]) -> bool:
    caller = item.get("caller")
    return item.get("type") in ("program", "program_output") or (
        isinstance(caller, dict) and caller.get("type") == "program")


def _forward_earlier(item: Any) -> bool:
    if not isinstance(item, dict) or _programmatic(item) or item.get("role") == "assistant":
        return False
    return item.get("type") not in _SUMMARY_ONLY_TYPES


def _forward_latest(item: Any) -> bool:
    if not isinstance(item, dict) or _programmatic(item):
        return False
    if isinstance(item.get("role"), str) and item["role"]:
        return True
    return item.get("type") not in _SUMMARY_ONLY_TYPES


# --- one transcript line ---------------------------------------------------------------------------
def _format(item: Any) -> str:
    item = _clean(item)
    if isinstance(item.get("role"), str):
        content = item.get("content")
        if content is None or (isinstance(content, str) and "\n" not in content and "\r" not in content):
            return _format_legacy(item)
    try:
        return json.dumps({k: v for k, v in item.items() if k != "provider_data"}, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return _format_legacy(item)


def _format_legacy(item: dict[str, Any]) -> str:
    role = item.get("role")
    if isinstance(role, str):
        name = item.get("name")
        prefix = f"{role} ({name})" if isinstance(name, str) and name else role
        content = item.get("content")
        text = "" if content is None else content if isinstance(content, str) else json.dumps(
            content, ensure_ascii=False, default=str)
        return f"{prefix}: {text}"
    rest = {k: v for k, v in item.items() if k not in ("type", "provider_data")}
    try:
        serialized = json.dumps(rest, ensure_ascii=False, default=str)
    except TypeError:
        serialized = str(rest)
    kind = item.get("type", "item")
    return f"{kind}: {serialized}" if serialized else str(kind)


# --- unpacking an earlier summary ------------------------------------------------------------------
def _unpack(item: Any) -> list[Any] | None:
    if not isinstance(item, dict) or item.get("role") != "assistant" or not isinstance(item.get("content"), str):
        return None
    start, end = get_conversation_history_wrappers()
    preamble, separator, wrapped = item["content"].partition("\n")
    if not separator or preamble not in _PREAMBLES:
        return None
    if not wrapped.startswith(f"{start}\n") or not wrapped.endswith(f"\n{end}"):
        return None
    body = wrapped[len(start) + 1:-(len(end) + 1)]
    return [parsed for record in _records(body) if (parsed := _parse(record)) is not None]


def _numbered(line: str) -> bool:
    head, dot, _ = line.lstrip().partition(".")
    return bool(dot) and head.isdigit()


def _records(body: str) -> list[str]:
    records: list[str] = []
    current: list[str] = []
    numbered = False
    for raw in body.splitlines():
        if not raw.strip():
            continue
        starts = _numbered(raw)
        if current and (starts or not numbered):
            records.append("\n".join(current))
            current = []
        if not current:
            current, numbered = [raw.strip()], starts
        else:
            current.append(raw.rstrip())
    if current:
        records.append("\n".join(current))
    return records


def _role_and_name(text: str) -> tuple[str, str | None]:
    if text.endswith(")") and "(" in text:
        at = text.rfind("(")
        name, role = text[at + 1:-1].strip(), text[:at].strip()
        if name:
            return role or "developer", name
    return text or "developer", None


def _parse(record: str) -> Any:
    text = record.strip()
    if not text:
        return None
    if _numbered(text):
        text = text[text.find(".") + 1:].lstrip()
    try:
        parsed = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        parsed = None
    if isinstance(parsed, dict):
        parsed.pop("provider_data", None)
        return _clean(parsed)
    role_text, separator, rest = text.partition(":")
    if not separator:
        bare = text[:text.rfind("(")].strip() if text.endswith(")") and "(" in text else text
        if bare not in _ROLES:
            return None
        role_text, rest = text, ""
    elif not role_text.strip():
        return None
    role, name = _role_and_name(role_text.strip())
    message: dict[str, Any] = {"role": role}
    if name:
        message["name"] = name
    content = rest.strip()
    if content and role not in _ROLES:
        typed = _typed(role, content)
        if typed is not None:
            return typed
    message["content"] = content
    return message


def _typed(kind: str, content: str) -> Any:
    try:
        parsed = json.loads(content)
    except (json.JSONDecodeError, TypeError):
        return None
    if not isinstance(parsed, dict):
        return None
    parsed.pop("provider_data", None)
    parsed["type"] = kind
    return _clean(parsed)
