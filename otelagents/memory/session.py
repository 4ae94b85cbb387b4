"""The ``Session`` protocol: where a conversation's history lives between runs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from ..exceptions import UserError
from ..items import TResponseInputItem

__all__ = ["Session", "SessionABC", "SessionInputCallback", "SessionSettings"]


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


SessionInputCallback = Callable[
    [list[TResponseInputItem], list[TResponseInputItem]],
    "list[TResponseInputItem] | Awaitable[list[TResponseInputItem]]",
]
"""``(history, new_items) -> the model's input``: how a run merges the session's history with its input."""


@runtime_checkable
class Session(Protocol):
    """What ``Runner.run*(session=...)`` needs: read, append, pop and clear a conversation's items."""

    session_id: str
    session_settings: SessionSettings | None = None

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The history in order; with ``limit``, only the latest ``limit`` items."""
        ...

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append items to the history."""
        ...

    async def pop_item(self) -> TResponseInputItem | None:
        """Remove and return the latest item (None when the history is empty)."""
        ...

    async def clear_session(self) -> None:
        """Forget the whole history."""
        ...


class SessionABC(ABC):
    """A base class for session implementations (third-party code may implement ``Session`` instead)."""

    session_id: str
    session_settings: SessionSettings | None = None

    @abstractmethod
    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]: ...

    @abstractmethod
    async def add_items(self, items: list[TResponseInputItem]) -> None: ...

    @abstractmethod
    async def pop_item(self) -> TResponseInputItem | None: ...

    @abstractmethod
    async def clear_session(self) -> None: ...
