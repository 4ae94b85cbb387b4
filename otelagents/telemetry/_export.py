"""Span export that stays under the OTLP message size and reports what was lost.

``BatchSpanProcessor`` bounds a batch by its number of spans (512), not its size. With content capture on,
a span carries up to a few content values of ``content_max_length`` characters each, so one batch can be
tens of megabytes, and a collector refuses the whole request beyond its limit (gRPC's default: 4 MiB),
losing every span in it. ``SizeBoundedSpanExporter`` splits each batch into requests whose estimated size
stays under ``max_bytes``; a single span that is larger on its own is dropped (with a warning) rather
than taking the rest of its batch with it.

``CountingBatchSpanProcessor`` and the exporter count what was dropped (queue full, oversized) or failed
(the exporter said so, or raised), so ``TelemetryHandle.force_flush()`` can say ``False`` when anything
was lost since the previous flush, instead of ``True`` whatever happened.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

__all__ = ["DEFAULT_MAX_EXPORT_BYTES", "CountingBatchSpanProcessor", "LossCounter", "SizeBoundedSpanExporter",
           "estimate_span_bytes"]

logger = logging.getLogger("otelagents.telemetry")

# OTLP/gRPC receivers refuse messages over 4 MiB by default; the estimate below is an upper bound for
# string data, and a quarter of headroom covers the protobuf framing it leaves out.
DEFAULT_MAX_EXPORT_BYTES = 3 * 1024 * 1024
_SPAN_OVERHEAD = 160  # ids, times, kind, status, framing
_FIELD_OVERHEAD = 8


class LossCounter:
    """Spans dropped or failed since the last ``take()``; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lost = 0

    def add(self, count: int) -> None:
        if count > 0:
            with self._lock:
                self._lost += count

    def reset_after_fork(self) -> None:
        """In a forked child: start from zero with a new lock (a parent thread may have held the old one)."""
        self._lock = threading.Lock()
        self._lost = 0

    def take(self) -> int:
        with self._lock:
            lost, self._lost = self._lost, 0
            return lost


def _value_bytes(value: object) -> int:
    if isinstance(value, str):
        # UTF-8 takes up to 4 bytes a character; counting ASCII exactly keeps the common case tight.
        return len(value) if value.isascii() else 4 * len(value)
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, (list, tuple)):
        return sum(_value_bytes(v) + 2 for v in value)
    return 10


def _attributes_bytes(attributes: Mapping[str, Any] | None) -> int:
    if not attributes:
        return 0
    return sum(len(key) + _value_bytes(value) + _FIELD_OVERHEAD for key, value in attributes.items())


def estimate_span_bytes(span: ReadableSpan) -> int:
    """An upper estimate of the span's encoded OTLP size (names, attributes, events, links, status)."""
    size = _SPAN_OVERHEAD + len(span.name) + _attributes_bytes(span.attributes)
    for event in span.events:
        size += _FIELD_OVERHEAD * 2 + len(event.name) + _attributes_bytes(event.attributes)
    for link in span.links:
        size += 48 + _attributes_bytes(link.attributes)
    description = span.status.description
    if description:
        size += _value_bytes(description)
    return size


def _chunks(spans: Sequence[ReadableSpan], max_bytes: int,
            oversized: list[ReadableSpan]) -> Iterator[list[ReadableSpan]]:
    chunk: list[ReadableSpan] = []
    size = 0
    for span in spans:
        span_size = estimate_span_bytes(span)
        if span_size > max_bytes:
            oversized.append(span)
            continue
        if chunk and size + span_size > max_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append(span)
        size += span_size
    if chunk:
        yield chunk


class SizeBoundedSpanExporter(SpanExporter):
    """Wraps an exporter so that no single export request exceeds ``max_bytes`` (estimated)."""

    def __init__(self, exporter: SpanExporter, *, max_bytes: int = DEFAULT_MAX_EXPORT_BYTES,
                 losses: LossCounter | None = None, factory: Callable[[], SpanExporter] | None = None) -> None:
        if max_bytes < 1024:
            raise ValueError(f"max_bytes must be at least 1024, not {max_bytes}")
        self.exporter = exporter
        self.factory = factory
        self.max_bytes = max_bytes
        self.losses = losses if losses is not None else LossCounter()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        oversized: list[ReadableSpan] = []
        ok = True
        for chunk in _chunks(spans, self.max_bytes, oversized):
            try:
                result = self.exporter.export(chunk)
            except Exception:  # an exporter bug loses this chunk only
                logger.exception("otelagents telemetry: the span exporter raised; %d spans lost", len(chunk))
                result = SpanExportResult.FAILURE
            if result is not SpanExportResult.SUCCESS:
                ok = False
                self.losses.add(len(chunk))
        if oversized:
            ok = False
            self.losses.add(len(oversized))
            logger.warning("otelagents telemetry: dropped %d span(s) larger than the %d-byte export limit on "
                           "their own (e.g. %r); lower content_max_length or the attributes you add",
                           len(oversized), self.max_bytes, oversized[0].name)
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def rebuild(self) -> None:
        """Replace the wrapped exporter with a new one from ``factory`` (in a forked child: its connection
        must not be shared with the parent). The inherited one is dropped, not shut down."""
        if self.factory is not None:
            self.exporter = self.factory()

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)


class CountingBatchSpanProcessor(BatchSpanProcessor):
    """A ``BatchSpanProcessor`` that counts the spans it drops because its queue is full."""

    def __init__(self, exporter: SpanExporter, losses: LossCounter, **kwargs: Any) -> None:
        super().__init__(exporter, **kwargs)
        self.losses = losses

    def on_end(self, span: ReadableSpan) -> None:
        batch = getattr(self, "_batch_processor", None)
        queue = getattr(batch, "_queue", None)
        if queue is not None and span.context is not None and span.context.trace_flags.sampled:
            if len(queue) >= getattr(batch, "_max_queue_size", float("inf")):
                self.losses.add(1)
        super().on_end(span)
