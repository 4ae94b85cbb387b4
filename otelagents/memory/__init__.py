"""Sessions: conversation history kept between runs (``Runner.run_streamed(agent, input, session=...)``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .session import Session, SessionABC, SessionInputCallback, SessionSettings

if TYPE_CHECKING:
    from .sqlite_session import SQLiteSession

__all__ = ["SQLiteSession", "Session", "SessionABC", "SessionInputCallback", "SessionSettings"]


def __getattr__(name: str) -> Any:
    # sqlite3 loads on first use, so that `import otelagents` stays cheap.
    if name == "SQLiteSession":
        from .sqlite_session import SQLiteSession

        return SQLiteSession
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
