"""Server-side conversation state on the Responses API (``previous_response_id``,
``auto_previous_response_id``, ``conversation_id``), as the Agents SDK keeps it.

The server already holds what it was sent and what it answered, so each model call sends only the items
it has not seen (the run's input first, then tool outputs), chained to the previous response
(``previous_response_id``/``auto_previous_response_id``) or to the conversation (``conversation_id``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .exceptions import UserError
from .items import ItemHelpers, RunItem

FILTER_REFUSED = (
    "Server-managed conversations do not support handoff input filters. Remove Handoff.input_filter or "
    "RunConfig.handoff_input_filter, or disable conversation_id, previous_response_id, and "
    "auto_previous_response_id."
)


class ServerConversation:
    """What the server has seen during one run, and which ids the next call chains to."""

    def __init__(self, previous_response_id: str | None, conversation_id: str | None) -> None:
        self.previous_response_id = previous_response_id
        self.conversation_id = conversation_id
        self._input_sent = False
        self._known: set[int] = set()  # ids of the RunItems the server has (sent, or its own output)

    @classmethod
    def of(
        cls, previous_response_id: str | None, auto_previous_response_id: bool, conversation_id: str | None
    ) -> ServerConversation | None:
        """The state for a run, or None when the run sends its whole history each time."""
        for name, value in (("previous_response_id", previous_response_id), ("conversation_id", conversation_id)):
            if value is not None and (not isinstance(value, str) or not value):
                raise UserError(f"{name} must be a non-empty string or None, not {value!r}")
        if previous_response_id is None and conversation_id is None and not auto_previous_response_id:
            return None
        return cls(previous_response_id, conversation_id)

    def unsent(
        self, original_input: str | list[Any], generated: list[RunItem], as_input: Callable[[RunItem], Any]
    ) -> list[Any]:
        """The input items the server has not seen yet; they count as sent from now on."""
        items: list[Any] = [] if self._input_sent else ItemHelpers.input_to_new_input_list(original_input)
        self._input_sent = True
        for item in generated:
            if id(item) not in self._known:
                self._known.add(id(item))
                items.append(as_input(item))
        return items

    def answered(self, response_id: str | None, model_items: list[RunItem]) -> None:
        """The server holds its own output; chain the next call to this response (without a conversation)."""
        self._known.update(id(item) for item in model_items)
        if self.conversation_id is None and response_id:
            self.previous_response_id = response_id
