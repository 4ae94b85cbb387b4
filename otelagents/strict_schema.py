"""``ensure_strict_json_schema``: make a JSON schema "strict" in the OpenAI sense, or say why it cannot be.

Strict means every object is closed (``additionalProperties: false``) and lists all its properties as
required; ``oneOf`` becomes ``anyOf``; ``$ref``s with siblings are inlined; ``None`` defaults go. It
raises ``UserError`` exactly where the Agents SDK 0.24.0 does (open objects, a nullable or ``anyOf``
root, ``$ref``s that cannot be merged, nested ``$id`` resources, schemas too deep or too large). Unlike
the SDK, the caller's schema is never modified: a strict copy is returned.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import unquote

from .exceptions import UserError

_EMPTY_SCHEMA: dict[str, Any] = {"additionalProperties": False, "type": "object", "properties": {}, "required": []}
_MAX_NODES = 100_000  # bounds a malicious $ref fan-out
_MAX_DEPTH = 100  # nested dicts and lists, well below Python's recursion limit

_OPEN_OBJECT = (
    "additionalProperties should not be set for object types. This could be because you're using an "
    "older version of Pydantic, or because you configured additional properties to be allowed. If you "
    "really need this, update the function or output tool to not use a strict schema."
)
_UNDECLARED = ("JSON schema contains an object that permits undeclared properties and cannot be converted "
               "to a strict schema without changing its accepted values.")
_UNVALIDATED_REF = "JSON schema contains a reference whose target was not validated for strict mode."
_NESTED_REF = ("JSON schema contains a reference owned by or crossing a nested `$id` resource that cannot be "
               "resolved against the document root.")
_TOO_DEEP = "JSON schema is too deeply nested to process safely. Simplify or flatten the schema."

# Keywords that may sit beside a $ref without constraining the instance.
_ANNOTATIONS = frozenset({
    "$anchor", "$comment", "$defs", "$schema", "contentEncoding", "contentMediaType", "contentSchema",
    "default", "definitions", "deprecated", "description", "examples", "readOnly", "title", "writeOnly",
})
_ROOT_ANNOTATIONS = _ANNOTATIONS | {"$id"}


class _Walk:
    """Shared state of one conversion: the document root and the node budget."""

    def __init__(self, root: dict[str, Any], reject_open_objects: bool) -> None:
        self.root = root
        self.left = _MAX_NODES
        self.reject_open_objects = reject_open_objects

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise UserError(
                "JSON schema is too large to convert to a strict schema. This can happen when a schema "
                "expands `$ref`s exponentially, which may indicate a malformed or malicious schema."
            )


def ensure_strict_json_schema(schema: dict[str, Any], *, _reject_open_objects: bool = False) -> dict[str, Any]:
    """A strict copy of ``schema``. Raises ``UserError`` when it cannot be made strict."""
    _check_depth(schema)
    if schema == {}:
        return copy.deepcopy(_EMPTY_SCHEMA)
    work = copy.deepcopy(schema)
    return _strict_root(_strict(work, _Walk(work, _reject_open_objects), (), 1, False))


def _check_depth(schema: object) -> None:
    stack: list[tuple[object, int]] = [(schema, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise UserError(_TOO_DEEP)
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def _strict_root(schema: dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema.get("anyOf"), list):
        raise UserError("The root of a strict JSON schema must not use `anyOf`.")
    kind = schema.get("type")
    if isinstance(kind, list) and "object" in kind:
        if kind != ["object"]:
            raise UserError(
                f"The root of a strict JSON schema must be a non-nullable object, but its type is {kind}. "
                "Make the root a plain object, or update the function or output tool to not use a strict schema."
            )
        schema["type"] = "object"
    return schema


def _strict(node: object, walk: _Walk, path: tuple[str, ...], depth: int, nested: bool) -> dict[str, Any]:
    if depth > _MAX_DEPTH:
        raise UserError(_TOO_DEEP)
    if not isinstance(node, dict):
        raise TypeError(f"Expected {node} to be a dictionary; path={path}")
    closed = node.get("additionalProperties") is False
    walk.spend()
    nested = nested or (node is not walk.root and isinstance(node.get("$id"), str))
    if "$ref" in node:
        _check_ref_siblings(node, walk, nested)
    down = depth + 1
    for key in ("$defs", "definitions"):
        defs = node.get(key)
        if isinstance(defs, dict):
            for name, sub in defs.items():
                _strict(sub, walk, (*path, key, name), down, nested)
    _close_object(node, walk)
    properties = node.get("properties")
    if isinstance(properties, dict):
        node["required"] = list(properties)
        node["properties"] = {k: _strict(v, walk, (*path, "properties", k), down, nested)
                              for k, v in properties.items()}
    if isinstance(node.get("items"), dict):
        node["items"] = _strict(node["items"], walk, (*path, "items"), down, nested)
    if isinstance(node.get("anyOf"), list):
        node["anyOf"] = [_strict(v, walk, (*path, "anyOf", str(i)), down, nested)
                         for i, v in enumerate(node["anyOf"])]
    if isinstance(node.get("oneOf"), list):  # nested oneOf is not supported: anyOf says the same
        existing = node.get("anyOf", [])
        node["anyOf"] = (existing if isinstance(existing, list) else []) + [
            _strict(v, walk, (*path, "oneOf", str(i)), down, nested) for i, v in enumerate(node["oneOf"])]
        node.pop("oneOf")
    all_of = node.get("allOf")
    if isinstance(all_of, list):
        if len(all_of) == 1:
            return _merge_all_of(node, all_of[0], walk, path, down, nested, closed)
        node["allOf"] = [_strict(v, walk, (*path, "allOf", str(i)), down, nested) for i, v in enumerate(all_of)]
    if "default" in node and node["default"] is None:
        node.pop("default")
    ref = node.get("$ref")
    if ref and len(node) > 1:  # a $ref with siblings: inline its target
        assert isinstance(ref, str), f"Received non-string $ref - {ref}"
        target = _resolve(walk.root, ref)
        node.pop("$ref")
        node.update({**target, **node})
        return _strict(node, walk, path, down, nested)
    if walk.reject_open_objects and "$ref" in node:
        raise UserError(_UNVALIDATED_REF)
    return node


def _check_ref_siblings(node: dict[str, Any], walk: _Walk, nested: bool) -> None:
    if nested:
        raise UserError(_NESTED_REF)
    allowed = _ROOT_ANNOTATIONS if node is walk.root else _ANNOTATIONS
    extra = set(node) - {"$ref"} - allowed
    if extra:
        raise UserError(
            f"JSON schema contains a `$ref` with incompatible sibling keyword(s) ({', '.join(sorted(extra))}) "
            "that cannot be merged without changing its accepted values."
        )


def _close_object(node: dict[str, Any], walk: _Walk) -> None:
    kind = node.get("type")
    properties = node.get("properties")
    if kind is None and isinstance(properties, dict):
        kind = node["type"] = "object"
    elif kind is None and node.get("additionalProperties", False) is not False:
        raise UserError(_OPEN_OBJECT)
    is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
    if not is_object:
        return
    declares_none = "properties" not in node or properties == {}
    if walk.reject_open_objects and declares_none and node.get("additionalProperties") is not False:
        raise UserError(_UNDECLARED)
    if "additionalProperties" not in node:
        node["additionalProperties"] = False
    elif node["additionalProperties"] is not False:  # `{}` (allow anything) is open too
        raise UserError(_OPEN_OBJECT)


def _merge_all_of(
    node: dict[str, Any], entry: Any, walk: _Walk, path: tuple[str, ...], down: int, nested: bool, closed: bool
) -> dict[str, Any]:
    """Fold a one-entry ``allOf`` into its parent, when that does not change what the schema accepts."""
    if isinstance(entry, dict) and "$ref" in entry and not (set(entry) - {"$ref"} - _ANNOTATIONS):
        if nested:
            raise UserError(_NESTED_REF)
        walk.spend()
        strict_entry = _follow_refs(walk.root, entry, walk)
    else:
        strict_entry = _strict(entry, walk, (*path, "allOf", "0"), down, nested)
    node.pop("allOf")
    if not closed:
        node.pop("additionalProperties", None)  # closed again below, once merged
    merged = dict(strict_entry)
    clashes: list[str] = []
    if (node.get("additionalProperties") is False and node.get("properties", {}) == {}
            and isinstance(strict_entry.get("properties"), dict) and strict_entry["properties"] != {}):
        clashes.append("properties")  # additionalProperties does not see properties declared in allOf
    for key, value in node.items():
        if key not in merged or key in _ANNOTATIONS:
            merged[key] = value
        elif _same_json(value, merged[key]) or (key, value) in (("properties", {}), ("required", [])):
            continue
        else:
            clashes.append(key)
    if clashes:
        raise UserError(
            f"JSON schema contains a singleton `allOf` entry with incompatible parent keyword(s) "
            f"({', '.join(sorted(clashes))}) that cannot be merged without changing its accepted values."
        )
    node.clear()
    node.update(merged)
    return _strict(node, walk, path, down, nested)


def _follow_refs(root: dict[str, Any], schema: dict[str, Any], walk: _Walk) -> dict[str, Any]:
    resolved: dict[str, Any] = schema
    seen: set[str] = set()
    carried: dict[str, Any] = {}
    while "$ref" in resolved and not (set(resolved) - {"$ref"} - _ANNOTATIONS):
        ref = resolved["$ref"]
        assert isinstance(ref, str), f"Received non-string $ref - {ref}"
        if ref in seen:
            raise UserError("JSON schema contains a circular `$ref` chain.")
        seen.add(ref)
        carried = {**{k: v for k, v in resolved.items() if k != "$ref"}, **carried}
        walk.spend()
        resolved = _resolve(root, ref)
    return {**resolved, **carried}


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"Unexpected $ref format {ref!r}; Does not start with #/")
    resolved: dict[str, Any] = root
    for raw in unquote(ref[2:], errors="strict").split("/"):
        step = resolved[raw.replace("~1", "/").replace("~0", "~")]
        if not isinstance(step, dict):
            raise ValueError(f"Expected `$ref: {ref}` to resolve to a dictionary but got {step}")
        if isinstance(step.get("$id"), str):
            raise UserError(_NESTED_REF)
        resolved = step
    return resolved


def _same_json(left: Any, right: Any) -> bool:
    """JSON equality: True is not 1, 1 equals 1.0."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return bool(left == right)
    if isinstance(left, list) or isinstance(right, list):
        return (isinstance(left, list) and isinstance(right, list) and len(left) == len(right)
                and all(_same_json(a, b) for a, b in zip(left, right, strict=True)))
    if isinstance(left, dict) or isinstance(right, dict):
        return (isinstance(left, dict) and isinstance(right, dict) and left.keys() == right.keys()
                and all(_same_json(left[k], right[k]) for k in left))
    return type(left) is type(right) and bool(left == right)
