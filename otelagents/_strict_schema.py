"""Kept for the modules that import it from here: the implementation is ``otelagents.strict_schema``."""

from .strict_schema import ensure_strict_json_schema

__all__ = ["ensure_strict_json_schema"]
