"""Make a JSON schema "strict" in the OpenAI sense: closed objects, every property required."""

from __future__ import annotations

import copy
from typing import Any

from .exceptions import UserError


def ensure_strict_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A strict copy of ``schema``. Raises ``UserError`` when it cannot be made strict."""
    if schema == {}:
        return {"additionalProperties": False, "type": "object", "properties": {}, "required": []}
    result = copy.deepcopy(schema)
    _make_strict(result, root=result, path=())
    return result


def _make_strict(node: Any, *, root: dict[str, Any], path: tuple[str, ...]) -> None:
    if not isinstance(node, dict):
        return
    for key in ("$defs", "definitions"):
        for name, sub in (node.get(key) or {}).items():
            _make_strict(sub, root=root, path=(*path, key, name))
    if node.get("type") == "object" or "properties" in node:
        extra = node.get("additionalProperties")
        if extra not in (None, False):
            where = "/".join(path) or "the root"
            raise UserError(
                f"additionalProperties must be false in strict mode (at {where}); "
                "remove extra-keys settings from the model or pass strict_mode=False"
            )
        node["additionalProperties"] = False
        props = node.get("properties") or {}
        node["properties"] = props
        node["required"] = list(props)
        for name, sub in props.items():
            _make_strict(sub, root=root, path=(*path, "properties", name))
    items = node.get("items")
    if isinstance(items, dict):
        _make_strict(items, root=root, path=(*path, "items"))
    for key in ("anyOf", "allOf", "oneOf"):
        for i, sub in enumerate(node.get(key) or []):
            _make_strict(sub, root=root, path=(*path, key, str(i)))
    if "default" in node and node["default"] is None:
        node.pop("default")
