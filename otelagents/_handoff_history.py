"""What the next agent sees after a handoff: the input filter (``Handoff.input_filter`` or
``RunConfig.handoff_input_filter``) or the nested history (``nest_handoff_history``), as the Agents SDK
applies them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._handoff_nesting import nest_handoff_history
from ._server_conversation import FILTER_REFUSED
from ._tool_runner import apply_input_filter
from .exceptions import UserError
from .handoffs import Handoff, HandoffInputData
from .items import RunItem
from .run_context import RunContextWrapper

if TYPE_CHECKING:
    from .run_config import RunConfig


@dataclass
class HandoffHistory:
    """The run's history after the handoff."""

    original_input: str | list[Any]  # the run's input from now on (``result.input`` too)
    generated: list[RunItem]  # the items the next model calls see after the input
    turn_items: list[RunItem]  # this turn's items for ``result.new_items`` and the stream


async def history_after_handoff(
    handoff: Handoff,
    run_config: RunConfig,
    *,
    original_input: str | list[Any],
    generated: list[RunItem],
    turn_items: list[RunItem],
    context: RunContextWrapper[Any],
    server_managed: bool = False,
) -> HandoffHistory:
    """Apply the input filter; without one, the history goes on unchanged.

    The filtered history becomes the run's input; the filtered ``new_items`` replace this turn's
    items in the result and the events; ``input_items``, when the filter sets it, is what the next
    model call sees instead of ``new_items``.
    """
    data = HandoffInputData(
        input_history=original_input if isinstance(original_input, str) else tuple(original_input),
        pre_handoff_items=tuple(generated),
        new_items=tuple(turn_items),
        run_context=context,
    )
    if server_managed:  # the SDK refuses filters here, and turns nesting off
        if handoff.input_filter is not None or run_config.handoff_input_filter is not None:
            raise UserError(FILTER_REFUSED)
        return HandoffHistory(original_input, [*generated, *turn_items], turn_items)
    filtering = handoff.input_filter is not None or run_config.handoff_input_filter is not None
    nesting = handoff.nest_handoff_history
    if not filtering and (nesting if nesting is not None else run_config.nest_handoff_history):
        nested = nest_handoff_history(data, history_mapper=run_config.handoff_history_mapper)
        return HandoffHistory(list(nested.input_history), [], list(nested.new_items))
    filtered = await apply_input_filter(handoff, run_config.handoff_input_filter, data)
    if filtered is data:
        return HandoffHistory(original_input, [*generated, *turn_items], turn_items)
    history = filtered.input_history
    model_items = filtered.new_items if filtered.input_items is None else filtered.input_items
    return HandoffHistory(
        original_input=history if isinstance(history, str) else list(history),
        generated=[*filtered.pre_handoff_items, *model_items],
        turn_items=list(filtered.new_items),
    )
