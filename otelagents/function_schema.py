"""Build a tool's JSON schema from a Python function's signature and docstring, with pydantic."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from pydantic import BaseModel, Field, create_model
from pydantic.fields import FieldInfo

from ._strict_schema import ensure_strict_json_schema
from .exceptions import UserError
from .run_context import RunContextWrapper
from .tool_context import ToolContext


@dataclass
class FuncSchema:
    name: str
    description: str | None
    params_pydantic_model: type[BaseModel]
    params_json_schema: dict[str, Any]
    signature: inspect.Signature
    takes_context: bool
    strict_json_schema: bool

    def to_call_args(self, data: BaseModel) -> tuple[list[Any], dict[str, Any]]:
        """Positional and keyword arguments for the function from a validated model."""
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        params = list(self.signature.parameters.values())
        if self.takes_context:
            params = params[1:]
        for param in params:
            value = getattr(data, param.name, None)
            if param.kind == param.VAR_POSITIONAL:
                args.extend(value or [])
            elif param.kind == param.VAR_KEYWORD:
                kwargs.update(value or {})
            elif param.kind == param.KEYWORD_ONLY:
                kwargs[param.name] = value
            else:
                args.append(value)
        return args, kwargs


_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Params|Returns|Raises|Yields|Examples?|Notes?):\s*$")
_GOOGLE_ARG = re.compile(r"^\s{2,}(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_ARG = re.compile(r"^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")


def parse_docstring(doc: str | None) -> tuple[str | None, dict[str, str]]:
    """The summary and per-argument descriptions of a Google-, Sphinx- or NumPy-style docstring."""
    if not doc:
        return None, {}
    text = inspect.cleandoc(doc)
    lines = text.splitlines()
    summary_lines: list[str] = []
    for line in lines:
        if not line.strip() or _SECTION.match(line) or line.strip().startswith(":"):
            break
        summary_lines.append(line.strip())
    summary = " ".join(summary_lines) or None
    args: dict[str, str] = {}
    section = None
    current: str | None = None
    for i, line in enumerate(lines):
        sphinx = _SPHINX_ARG.match(line)
        if sphinx:
            current = sphinx.group(1)
            args[current] = sphinx.group(2).strip()
            continue
        header = _SECTION.match(line)
        if header:
            section = header.group(1)
            current = None
            continue
        # NumPy style: "Parameters" followed by a dashed underline.
        if i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"} and line.strip():
            section = line.strip().rstrip(":")
            current = None
            continue
        if section in ("Args", "Arguments", "Parameters", "Params"):
            google = _GOOGLE_ARG.match("  " + line if not line.startswith(" ") else line)
            numpy = re.match(r"^(\w+)\s*:\s*.*$", line)
            if google and line.startswith(" ") and not line.startswith("      "):
                current = google.group(1).lstrip("*")
                args[current] = google.group(3).strip()
            elif numpy and not line.startswith(" "):
                current = numpy.group(1)
                args[current] = ""
            elif current and line.strip():
                args[current] = (args[current] + " " + line.strip()).strip()
    return summary, args


def _is_context_type(annotation: Any) -> bool:
    origin = get_origin(annotation) or annotation
    return inspect.isclass(origin) and issubclass(origin, (RunContextWrapper, ToolContext))


def _args_model(name: str, fields: dict[str, Any]) -> type[BaseModel]:
    """The pydantic model of a tool's arguments; a parameter name pydantic cannot take is a ``UserError``."""
    for param in fields:
        if param.startswith("_") or (param.startswith("model_") and hasattr(BaseModel, param)):
            raise UserError(
                f"Tool {name!r}: the parameter {param!r} cannot be a tool argument: pydantic, which validates "
                "tool arguments, reserves names starting with '_' and its own 'model_*' names. Rename the "
                "parameter."
            )
    try:
        return create_model(f"{name}_args", __base__=BaseModel, **fields)
    except (TypeError, ValueError, NameError) as exc:
        raise UserError(f"Tool {name!r}: its parameters cannot be turned into a JSON schema ({exc}). Rename "
                        "the parameter it names, or change its type annotation.") from exc


def function_schema(
    func: Callable[..., Any],
    *,
    name_override: str | None = None,
    description_override: str | None = None,
    use_docstring_info: bool = True,
    strict_json_schema: bool = True,
) -> FuncSchema:
    """Describe ``func`` as a tool: name, description and the JSON schema of its arguments."""
    name = name_override or func.__name__
    summary, arg_docs = parse_docstring(func.__doc__) if use_docstring_info else (None, {})
    signature = inspect.signature(func)
    try:
        hints = get_type_hints(func, include_extras=True)
    except Exception as exc:
        raise UserError(f"Cannot read the type hints of tool {name!r}: {exc}") from exc
    params = list(signature.parameters.values())
    takes_context = False
    fields: dict[str, Any] = {}
    for index, param in enumerate(params):
        annotation = hints.get(param.name, param.annotation)
        if _is_context_type(annotation):
            if index != 0:
                raise UserError(
                    f"Tool {name!r}: the context parameter {param.name!r} must come first; "
                    "move it to the first position"
                )
            takes_context = True
            continue
        if annotation is inspect.Parameter.empty:
            annotation = Any
        description = arg_docs.get(param.name)
        if get_origin(annotation) is Annotated:
            base, *meta = get_args(annotation)
            strings = [m for m in meta if isinstance(m, str)]
            if strings and description is None:
                description = strings[0]
            others = [m for m in meta if not isinstance(m, str)]
            annotation = Annotated[tuple([base, *others])] if others else base
        default = param.default
        if param.kind == param.VAR_POSITIONAL:
            annotation, default = list[annotation], []  # type: ignore[valid-type]
        elif param.kind == param.VAR_KEYWORD:
            annotation, default = dict[str, annotation], {}  # type: ignore[valid-type]
        if isinstance(default, FieldInfo):
            if description and not default.description:
                default.description = description
            fields[param.name] = (annotation, default)
        elif default is inspect.Parameter.empty:
            fields[param.name] = (annotation, Field(..., description=description))
        else:
            fields[param.name] = (annotation, Field(default=default, description=description))
    model = _args_model(name, fields)
    schema = model.model_json_schema()
    if strict_json_schema:
        schema = ensure_strict_json_schema(schema)
    return FuncSchema(
        name=name,
        description=description_override if description_override is not None else summary,
        params_pydantic_model=model,
        params_json_schema=schema,
        signature=signature,
        takes_context=takes_context,
        strict_json_schema=strict_json_schema,
    )
