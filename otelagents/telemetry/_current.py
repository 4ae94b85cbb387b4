"""The trace the calling task is in, for code outside ``otelagents.telemetry`` that links to traces.

The profiler records each request's trace id (for its "slowest requests" table) through this function
rather than importing OpenTelemetry itself.
"""

from __future__ import annotations

from opentelemetry import trace


def current_trace_id() -> str | None:
    """The current span's trace id as 32 hex digits, or None outside a valid (recording or remote) span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x")
