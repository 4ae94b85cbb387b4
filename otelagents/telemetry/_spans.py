"""Span plumbing shared by the observations: ending a span from an ``Outcome``, exemplars, and the
run task's stack of current spans.

Errors. A failed span gets status ERROR and ``error.type`` (the exception class's ``__qualname__``,
``_OTHER`` when there is no exception). Exception messages and tracebacks can carry prompt data (a
tool's arguments, the model's error text), so they follow the content switch: with capture off the span
gets an ``exception`` event with ``exception.type`` only and the status description is the type name;
with capture on the event also has ``exception.message`` and ``exception.stacktrace`` (the stack trace's
tail, where the error is) and the status description is the message; each is cut to the content size limit,
so a megabyte-long message never reaches the exporter whole.

Cancellation is a failure: status ERROR with description ``cancelled``, ``error.type=cancelled`` and
``otelagents.cancelled=true``, and no exception event.

A *handled* tool error (reported to the model as the tool's output; the run went on) is still an error on
the tool span, marked non-fatal with ``otelagents.error.handled=true``.
"""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.trace import Span, Status, StatusCode, set_span_in_context

from otelagents.observer import Outcome
from otelagents.telemetry import semconv
from otelagents.telemetry._content import cut_head, cut_text
from otelagents.telemetry._metrics import Exemplar


def error_type(outcome: Outcome) -> str | None:
    """The ``error.type`` of an outcome, or None when it succeeded."""
    if outcome.cancelled:
        return semconv.ERROR_TYPE_CANCELLED
    error = outcome.error
    if error is None:
        return None
    return type(error).__qualname__ or semconv.ERROR_TYPE_OTHER


def exemplar_of(span: Span) -> Exemplar | None:
    """The span's ids for metric exemplars, only when it is recording and sampled."""
    if not span.is_recording():
        return None
    ctx = span.get_span_context()
    if not ctx.is_valid or not ctx.trace_flags.sampled:
        return None
    return Exemplar(ctx.trace_id, ctx.span_id)


def end_span(span: Span, outcome: Outcome, *, capture: bool, max_length: int,
             end_time: int | None = None) -> str | None:
    """Set the status from ``outcome`` and end ``span``. Returns the error type (None on success)."""
    kind = error_type(outcome)
    if kind is not None and span.is_recording():
        span.set_attribute(semconv.ERROR_TYPE, kind)
        if outcome.cancelled:
            span.set_attribute(semconv.OTELAGENTS_CANCELLED, True)
            span.set_status(Status(StatusCode.ERROR, semconv.ERROR_TYPE_CANCELLED))
        else:
            if outcome.handled:
                span.set_attribute(semconv.OTELAGENTS_ERROR_HANDLED, True)
            _record_error(span, outcome.error, kind, capture, max_length)
    span.end(end_time=end_time)
    return kind


def _record_error(span: Span, error: BaseException | None, kind: str, capture: bool, max_length: int) -> None:
    if error is None:
        span.set_status(Status(StatusCode.ERROR, kind))
        return
    if capture:
        message = _message(error)
        span.add_event(semconv.EXCEPTION_EVENT, {
            semconv.EXCEPTION_TYPE: _qualified_name(error),
            semconv.EXCEPTION_MESSAGE: cut_text(message, max_length),
            semconv.EXCEPTION_STACKTRACE: cut_head(_stacktrace(error), max_length),
        })
        description = f"{kind}: {message}" if message else kind
        span.set_status(Status(StatusCode.ERROR, cut_text(description, max_length)))
    else:
        span.add_event(semconv.EXCEPTION_EVENT, {semconv.EXCEPTION_TYPE: kind})
        span.set_status(Status(StatusCode.ERROR, kind))


def _message(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # noqa: BLE001 - a broken __str__ must not break telemetry
        return f"<unprintable {type(error).__name__}>"


def _qualified_name(error: BaseException) -> str:
    cls = type(error)
    module = cls.__module__
    return f"{module}.{cls.__qualname__}" if module and module != "builtins" else cls.__qualname__


def _stacktrace(error: BaseException) -> str:
    try:
        return "".join(traceback.format_exception(type(error), error, error.__traceback__))
    except Exception:  # noqa: BLE001 - a broken __str__ must not break telemetry
        return f"{type(error).__qualname__}: <stack trace unavailable>"


class SpanStack:
    """Spans made current in the run's task, detached last-in first-out in the same task.

    The run, agent and model-call spans are made current in the run's own task (so user hooks,
    instructions callables and HTTP client instrumentations nest under them); tool spans are made
    current in each tool's task by ``ToolObservation.activate``. A token is only detached in the task
    that attached it: a context token must never be detached in another context.
    """

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: list[tuple[object, Any, asyncio.Task[Any] | None]] = []

    def push(self, owner: object, span: Span) -> None:
        token = otel_context.attach(set_span_in_context(span))
        self._entries.append((owner, token, _current_task()))

    def pop(self, owner: object) -> None:
        """Detach ``owner``'s span and anything pushed after it (normally nothing)."""
        entries = self._entries
        for index in range(len(entries) - 1, -1, -1):
            if entries[index][0] is owner:
                self._unwind(index)
                return

    def pop_all(self) -> None:
        self._unwind(0)

    def _unwind(self, index: int) -> None:
        entries = self._entries
        task = _current_task()
        while len(entries) > index:
            _, token, owner_task = entries.pop()
            if owner_task is task:
                otel_context.detach(token)


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop
        return None
