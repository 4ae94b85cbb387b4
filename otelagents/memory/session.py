"""The ``Session`` protocol: where a conversation's history lives between runs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from ..items import TResponseInputItem
from .session_settings import SessionSettings, coerce_session_settings

__all__ = ["Session", "SessionABC", "SessionInputCallback", "SessionSettings", "coerce_session_settings"]


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
