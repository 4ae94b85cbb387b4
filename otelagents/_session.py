"""A run's session: the history read before the first turn, and what the run appends to it.

As in the Agents SDK, the model's input is the session's history followed by the new input (or what
``RunConfig.session_input_callback`` makes of the two), ``result.input`` is that combined input, the
session receives the new input items before the first model call (so they stay even when the run fails or
a guardrail stops it), then each turn's items as the turn ends; the last turn's items only once its output
guardrails have passed.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

from .exceptions import UserError
from .items import ItemHelpers, RunItem, TResponseInputItem
from .memory.session import Session, SessionInputCallback, SessionSettings

_SESSION_METHODS = ("get_items", "add_items", "pop_item", "clear_session")


def check_session(session: Any, server_conversation: object | None = None) -> Session | None:
    """``session`` as a ``Session``; it cannot go with server-side conversation state (as in the SDK)."""
    if session is None:
        return None
    if server_conversation is not None:
        raise UserError("Session persistence cannot be combined with conversation_id, previous_response_id, "
                        "or auto_previous_response_id.")
    missing = [name for name in _SESSION_METHODS if not callable(getattr(session, name, None))]
    if missing or not isinstance(getattr(session, "session_id", None), str):
        raise UserError(
            f"session must implement the Session protocol (session_id and {', '.join(_SESSION_METHODS)}); "
            f"{type(session).__name__} lacks {', '.join(missing) or 'a string session_id'}. "
            "Use otelagents.memory.SQLiteSession or your own Session."
        )
    return session  # type: ignore[no-any-return]


class SessionRun:
    """The session side of one run (a no-op without a session)."""

    def __init__(
        self, session: Session | None, settings: SessionSettings | None, callback: SessionInputCallback | None
    ) -> None:
        self.session = session
        self._settings = settings
        self._callback = callback
        self._pending: list[TResponseInputItem] = []
        self._saved = 0

    @property
    def conversation_id(self) -> str | None:
        return self.session.session_id if self.session is not None else None

    async def prepare(self, input: str | list[TResponseInputItem]) -> str | list[TResponseInputItem]:
        """The model's input: history and new input merged; remembers the new items to append."""
        session = self.session
        if session is None:
            return input
        settings = getattr(session, "session_settings", None) or SessionSettings()
        limit = settings.resolve(self._settings).limit
        history = list(await session.get_items(limit) if limit is not None else await session.get_items())
        new_items = ItemHelpers.input_to_new_input_list(input)
        if self._callback is None:
            self._pending = list(new_items)
            return copy.deepcopy(history) + new_items
        if not callable(self._callback):
            raise UserError(f"RunConfig.session_input_callback must be a function or None, not {self._callback!r}")
        history_copy = copy.deepcopy(history)
        combined = self._callback(history_copy, new_items)
        if inspect.isawaitable(combined):
            combined = await combined
        if not isinstance(combined, list):
            raise UserError(
                f"session_input_callback returned {type(combined).__name__}; it must return the list of input items"
            )
        self._pending = _new_in(combined, history_copy, new_items)
        return combined

    async def save_new(self, new_items: list[RunItem]) -> None:
        """Append the run's items not appended yet (``new_items`` is the run's whole list so far)."""
        start, self._saved = self._saved, len(new_items)
        await self.save(new_items[start:])

    async def save(self, items: list[RunItem]) -> None:
        """Append the pending new input (first call only) and these run items."""
        if self.session is None:
            return
        batch = self._pending + [item.to_input_item() for item in items]
        self._pending = []
        if batch:
            await self.session.add_items(batch)


def _new_in(
    combined: list[TResponseInputItem], history: list[TResponseInputItem], new_items: list[TResponseInputItem]
) -> list[TResponseInputItem]:
    """The items of ``combined`` that are the new input (by identity, or equal to a not yet matched one)."""
    history_ids = {id(item) for item in history}
    pool = list(new_items)
    kept: list[TResponseInputItem] = []
    for item in combined:
        if id(item) in history_ids:
            continue
        match = next((i for i, new in enumerate(pool) if new is item), None)
        if match is None:
            match = next((i for i, new in enumerate(pool) if new == item), None)
        if match is not None:
            kept.append(pool.pop(match))
    return kept
