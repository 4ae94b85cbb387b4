"""``SessionSettings``: options for how a run reads a session."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..exceptions import UserError

__all__ = ["SessionSettings"]


@dataclass
class SessionSettings:
    """Session options. ``limit``: how many of the latest items a run reads back (None: all)."""

    limit: int | None = None

    def __post_init__(self) -> None:
        if self.limit is not None and (isinstance(self.limit, bool) or not isinstance(self.limit, int)
                                       or self.limit < 0):
            raise UserError(f"SessionSettings.limit must be a non-negative int or None, not {self.limit!r}")

    def resolve(self, override: SessionSettings | None) -> SessionSettings:
        """These settings with every value ``override`` sets (not None) laid over them."""
        if override is None or override.limit is None:
            return self
        return replace(self, limit=override.limit)

    def to_dict(self) -> dict[str, Any]:
        return {"limit": self.limit}


def coerce_session_settings(value: SessionSettings | dict[str, Any] | None) -> SessionSettings | None:
    if value is None or isinstance(value, SessionSettings):
        return value
    if isinstance(value, dict):
        try:
            return SessionSettings(**value)
        except TypeError as exc:
            raise UserError(f"Invalid session_settings dict: {exc}") from exc
    raise UserError(f"session_settings must be SessionSettings, a dict or None, not {type(value).__name__}")
