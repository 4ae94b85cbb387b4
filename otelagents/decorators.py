"""The decorators, importable from ``otelagents.decorators`` as from the SDK's ``agents.decorators``."""

from .guardrail import input_guardrail, output_guardrail
from .tool import function_tool

__all__ = ["function_tool", "input_guardrail", "output_guardrail"]
