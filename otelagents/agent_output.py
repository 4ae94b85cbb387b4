"""The schema of an agent's structured output (``Agent.output_type``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from ._strict_schema import ensure_strict_json_schema
from .exceptions import ModelBehaviorError, UserError

_WRAPPER_KEY = "response"


def _is_object_type(output_type: type[Any]) -> bool:
    try:
        return isinstance(output_type, type) and issubclass(output_type, BaseModel)
    except TypeError:
        return False


class AgentOutputSchema:
    """Validates the model's final text against ``output_type``. Non-object types are wrapped."""

    def __init__(self, output_type: type[Any], strict_json_schema: bool = True) -> None:
        self.output_type = output_type
        self._strict = strict_json_schema
        self._plain_text = output_type is None or output_type is str
        if self._plain_text:
            self._schema: dict[str, Any] = {"type": "string"}
            return
        self._wrapped = not _is_object_type(output_type)
        if self._wrapped:
            from pydantic import create_model

            self._adapter: TypeAdapter[Any] = TypeAdapter(
                create_model("OutputWrapper", **{_WRAPPER_KEY: (output_type, ...)})  # type: ignore[call-overload]
            )
        else:
            self._adapter = TypeAdapter(output_type)
        schema = self._adapter.json_schema()
        if strict_json_schema:
            try:
                schema = ensure_strict_json_schema(schema)
            except UserError as exc:
                raise UserError(
                    f"output_type {output_type!r} cannot be made strict: {exc.message}. "
                    "Use AgentOutputSchema(output_type, strict_json_schema=False)"
                ) from exc
        self._schema = schema

    def is_plain_text(self) -> bool:
        return self._plain_text

    def name(self) -> str:
        return getattr(self.output_type, "__name__", str(self.output_type))

    def json_schema(self) -> dict[str, Any]:
        if self._plain_text:
            raise UserError("A plain-text output type has no JSON schema")
        return self._schema

    def is_strict_json_schema(self) -> bool:
        return self._strict

    def validate_json(self, json_str: str) -> Any:
        try:
            value = self._adapter.validate_json(json_str)
        except ValidationError as exc:
            raise ModelBehaviorError(f"Invalid JSON when parsing model output: {exc}") from exc
        if self._wrapped:
            return getattr(value, _WRAPPER_KEY)
        return value


AgentOutputSchemaBase = AgentOutputSchema
