"""Responses-style input items -> Chat Completions ``messages`` (reference §10.3).

- the instructions become a first ``system`` message;
- user/system/developer messages keep their role; ``input_text``/``input_image``/``input_file`` parts become
  Chat ``text``/``image_url``/``file`` parts;
- an assistant message becomes ``{"role": "assistant", "content": text, "refusal"?}``;
- ``function_call`` items become ``tool_calls`` of an assistant message (``content: null``), merged into the
  assistant message right before them, as one Chat turn;
- ``function_call_output`` becomes ``{"role": "tool", "tool_call_id", "content"}``;
- reasoning items are not sent (Chat has no place for them).
"""

from __future__ import annotations

import json
from typing import Any

from ..exceptions import UserError
from ._openai_http import to_plain


def _user_part(part: Any) -> dict[str, Any]:
    if isinstance(part, str):
        return {"type": "text", "text": part}
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": part.get("text", "")}
    if kind == "input_image":
        image: dict[str, Any] = {"url": part.get("image_url") or part.get("url") or ""}
        if part.get("detail"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "image_url":
        return dict(part)
    if kind == "input_file":
        file = {k: part[k] for k in ("file_data", "file_id", "filename") if part.get(k) is not None}
        return {"type": "file", "file": file}
    raise UserError(f"Chat Completions cannot send a content part of type {kind!r}; use text, images or files")


def _content(content: Any) -> Any:
    if content is None or isinstance(content, str):
        return content
    return [_user_part(to_plain(part)) for part in content]


def _assistant_text(content: Any) -> tuple[str | None, str | None]:
    if content is None or isinstance(content, str):
        return content, None
    texts, refusals = [], []
    for part in content:
        part = to_plain(part)
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("output_text", "text", "input_text"):
            texts.append(part.get("text", ""))
        elif kind == "refusal":
            refusals.append(part.get("refusal", ""))
        else:
            raise UserError(f"Chat Completions cannot send an assistant content part of type {kind!r}")
    return ("".join(texts) if texts else None), ("".join(refusals) if refusals else None)


def _tool_output(output: Any) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, list):  # structured tool output: keep its text parts
        texts = [to_plain(p).get("text", "") for p in output if isinstance(to_plain(p), dict)]
        return "".join(texts)
    return json.dumps(output)


def to_chat_messages(system_instructions: str | None, input: str | list[Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if system_instructions is not None:
        messages.append({"role": "system", "content": system_instructions})
    if isinstance(input, str):
        messages.append({"role": "user", "content": input})
        return messages
    assistant: dict[str, Any] | None = None  # the assistant turn that function calls attach to
    for raw in input:
        item = to_plain(raw)
        if not isinstance(item, dict):
            raise UserError(f"An input item must be a dict or an openai model, got {type(raw).__name__}")
        kind, role = item.get("type"), item.get("role")
        if kind == "function_call":
            if assistant is None:
                assistant = {"role": "assistant", "content": None}
                messages.append(assistant)
            assistant.setdefault("tool_calls", []).append({
                "id": item["call_id"], "type": "function",
                "function": {"name": item["name"], "arguments": item.get("arguments") or "{}"},
            })
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": item["call_id"],
                             "content": _tool_output(item.get("output"))})
            assistant = None
        elif kind == "reasoning":
            continue
        elif kind in (None, "message") and role == "assistant":
            text, refusal = _assistant_text(item.get("content"))
            assistant = {"role": "assistant", "content": text}
            if refusal is not None:
                assistant["refusal"] = refusal
            messages.append(assistant)
        elif kind in (None, "message") and role in ("user", "system", "developer"):
            messages.append({"role": role, "content": _content(item.get("content"))})
            assistant = None
        else:
            raise UserError(
                f"Chat Completions cannot send an input item of type {kind!r} (role {role!r}); "
                "use the Responses API model for hosted tools and other item types"
            )
    return messages
