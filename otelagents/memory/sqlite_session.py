"""``SQLiteSession``: a session stored with the standard library's ``sqlite3``, in memory or in a file.

Every operation runs in a worker thread, so the event loop never waits on the disk. Access is serialised by
a lock per database (shared by every session of the process that opens the same file), each write is one
transaction, and file databases use WAL with a busy timeout, so concurrent runs, several sessions on one
file and other processes writing the same file all keep every item, in order.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ..exceptions import UserError
from ..items import TResponseInputItem
from .session import SessionABC, SessionSettings, coerce_session_settings

__all__ = ["SQLiteSession"]

T = TypeVar("T")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BUSY_TIMEOUT_S = 30.0


class SQLiteSession(SessionABC):
    """Conversation history in SQLite: ``:memory:`` (the default, gone with the object) or a file path.

    Items are stored as JSON, one row each, in ``messages_table``; ``sessions_table`` records each
    session id with its creation and last update times (the SDK's schema, so files are interchangeable).
    Call ``close()`` (or use ``with``) to release the connection.
    """

    _file_locks: ClassVar[dict[str, threading.RLock]] = {}
    _file_locks_guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        session_id: str,
        db_path: str | Path = ":memory:",
        sessions_table: str = "agent_sessions",
        messages_table: str = "agent_messages",
        session_settings: SessionSettings | dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(session_id, str) or not session_id:
            raise UserError(f"SQLiteSession needs a non-empty string session_id, not {session_id!r}")
        for label, table in (("sessions_table", sessions_table), ("messages_table", messages_table)):
            if not _IDENTIFIER.fullmatch(table):
                raise UserError(f"SQLiteSession {label} must be a plain SQL identifier, not {table!r}")
        self.session_id = session_id
        self.session_settings = coerce_session_settings(session_settings) or SessionSettings()
        self.db_path = db_path
        self.sessions_table = sessions_table
        self.messages_table = messages_table
        self._memory = str(db_path) == ":memory:"
        self._lock = threading.RLock() if self._memory else self._file_lock(Path(db_path))
        try:
            self._conn: sqlite3.Connection | None = sqlite3.connect(
                ":memory:" if self._memory else str(db_path), check_same_thread=False, timeout=_BUSY_TIMEOUT_S,
                isolation_level=None,
            )
        except sqlite3.Error as exc:
            raise UserError(f"SQLiteSession cannot open the database {str(db_path)!r}: {exc}") from exc
        with self._lock:
            self._init_schema(self._conn)

    @classmethod
    def _file_lock(cls, path: Path) -> threading.RLock:
        key = str(path.expanduser().resolve())
        with cls._file_locks_guard:
            return cls._file_locks.setdefault(key, threading.RLock())

    def _init_schema(self, conn: sqlite3.Connection) -> None:
        if not self._memory:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(f"""CREATE TABLE IF NOT EXISTS {self.sessions_table} (
                session_id TEXT PRIMARY KEY,
                created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)""")
            conn.execute(f"""CREATE TABLE IF NOT EXISTS {self.messages_table} (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                session_id TEXT NOT NULL,
                message_data TEXT NOT NULL,
                created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                FOREIGN KEY (session_id) REFERENCES {self.sessions_table} (session_id) ON DELETE CASCADE)""")
            conn.execute(f"""CREATE INDEX IF NOT EXISTS idx_{self.messages_table}_session_id
                ON {self.messages_table} (session_id, id)""")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # --- plumbing ----------------------------------------------------------------------------------
    async def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._locked, operation)

    def _locked(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            conn = self._conn
            if conn is None:
                raise UserError(f"SQLiteSession {self.session_id!r} is closed; open a new one to use it")
            return operation(conn)

    @staticmethod
    def _transaction(conn: sqlite3.Connection, body: Callable[[], T]) -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            value = body()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return value

    # --- the Session protocol ----------------------------------------------------------------------
    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The history in order; ``limit`` (or ``session_settings.limit``) keeps only the latest items."""
        if limit is None and self.session_settings is not None:
            limit = self.session_settings.limit
        if limit is not None and limit <= 0:
            return []

        def read(conn: sqlite3.Connection) -> list[TResponseInputItem]:
            if limit is None:
                rows = conn.execute(
                    f"SELECT message_data FROM {self.messages_table} WHERE session_id = ? ORDER BY id ASC",
                    (self.session_id,),
                ).fetchall()
            else:
                rows = conn.execute(
                    f"SELECT message_data FROM {self.messages_table} WHERE session_id = ? ORDER BY id DESC LIMIT ?",
                    (self.session_id, limit),
                ).fetchall()[::-1]
            return _decode_rows(row[0] for row in rows)

        return await self._run(read)

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append ``items`` (JSON-serialisable input items) in one transaction."""
        if not items:
            return
        encoded = [(self.session_id, _encode(item)) for item in items]

        def write(conn: sqlite3.Connection) -> None:
            def body() -> None:
                conn.execute(f"INSERT OR IGNORE INTO {self.sessions_table} (session_id) VALUES (?)", (self.session_id,))
                conn.executemany(
                    f"INSERT INTO {self.messages_table} (session_id, message_data) VALUES (?, ?)", encoded
                )
                conn.execute(f"UPDATE {self.sessions_table} SET updated_at = CURRENT_TIMESTAMP WHERE session_id = ?",
                             (self.session_id,))

            self._transaction(conn, body)

        await self._run(write)

    async def pop_item(self) -> TResponseInputItem | None:
        def pop(conn: sqlite3.Connection) -> TResponseInputItem | None:
            def body() -> TResponseInputItem | None:
                row = conn.execute(
                    f"SELECT id, message_data FROM {self.messages_table} WHERE session_id = ? ORDER BY id DESC LIMIT 1",
                    (self.session_id,),
                ).fetchone()
                if row is None:
                    return None
                conn.execute(f"DELETE FROM {self.messages_table} WHERE id = ?", (row[0],))
                decoded = _decode_rows([row[1]])
                return decoded[0] if decoded else None

            return self._transaction(conn, body)

        return await self._run(pop)

    async def clear_session(self) -> None:
        def clear(conn: sqlite3.Connection) -> None:
            def body() -> None:
                conn.execute(f"DELETE FROM {self.messages_table} WHERE session_id = ?", (self.session_id,))
                conn.execute(f"DELETE FROM {self.sessions_table} WHERE session_id = ?", (self.session_id,))

            self._transaction(conn, body)

        await self._run(clear)

    # --- lifetime ----------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (an in-memory history is gone after this). Safe to call twice."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def __enter__(self) -> SQLiteSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteSession(session_id={self.session_id!r}, db_path={str(self.db_path)!r})"


def _encode(item: TResponseInputItem) -> str:
    if hasattr(item, "model_dump"):
        item = item.model_dump(exclude_unset=True)
    try:
        return json.dumps(item)
    except (TypeError, ValueError) as exc:
        raise UserError(f"Session items must be JSON-serialisable input items: {exc}") from exc


def _decode_rows(rows: Iterable[str]) -> list[TResponseInputItem]:
    """The stored items; a row that is not valid JSON (written by other code) is skipped, as the SDK does."""
    items: list[TResponseInputItem] = []
    for data in rows:
        try:
            items.append(json.loads(data))
        except (TypeError, ValueError):
            continue
    return items
