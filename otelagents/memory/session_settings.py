"""``SessionSettings``, importable from ``otelagents.memory.session_settings`` as from the SDK."""

from .session import SessionSettings

__all__ = ["SessionSettings"]
