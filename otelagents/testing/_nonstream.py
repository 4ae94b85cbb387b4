"""Non-streaming answers (``"stream": false``): the JSON body a real server returns, folded from the same
rendered stream, so a scripted reply means the same thing either way (the Agents SDK's ``Runner.run``
does not stream)."""

from __future__ import annotations

import json
from typing import Any

from ._openai_wire import Rendered


def _payloads(rendered: Rendered) -> list[dict[str, Any]]:
    found = []
    for frame in rendered.frames:
        for line in frame.data.decode("utf-8", "replace").splitlines():
            if line.startswith("data: ") and line != "data: [DONE]":
                try:
                    found.append(json.loads(line[6:]))
                except ValueError:
                    continue
    return found


def responses_body(rendered: Rendered) -> dict[str, Any] | None:
    """The completed ``response`` the stream ends with, or None when it did not complete."""
    final = None
    for payload in _payloads(rendered):
        if payload.get("type") == "response.completed":
            final = payload.get("response")
    return final


def chat_body(rendered: Rendered) -> dict[str, Any] | None:
    """The ``chat.completion`` the chunks add up to, or None if the stream carried an error."""
    content: str | None = None
    refusal: str | None = None
    calls: dict[int, dict[str, Any]] = {}
    finish, usage, head = None, None, None
    for payload in _payloads(rendered):
        if "error" in payload:
            return None
        head = head or payload
        usage = payload.get("usage") or usage
        for choice in payload.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content") is not None:
                content = (content or "") + delta["content"]
            if delta.get("refusal") is not None:
                refusal = (refusal or "") + delta["refusal"]
            for call in delta.get("tool_calls") or []:
                entry = calls.setdefault(call["index"], {"id": call.get("id"), "type": "function",
                                                         "function": {"name": "", "arguments": ""}})
                function = call.get("function") or {}
                entry["function"]["name"] += function.get("name") or ""
                entry["function"]["arguments"] += function.get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    if head is None:
        return None
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": refusal}
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return {"id": head.get("id"), "object": "chat.completion", "created": head.get("created"),
            "model": head.get("model"), "usage": usage,
            "choices": [{"index": 0, "message": message, "finish_reason": finish or "stop", "logprobs": None}]}
