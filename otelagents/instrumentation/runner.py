"""``OtelAgentsInstrumentor``: otelagents' runner as an ``opentelemetry-instrumentation`` instrumentor.

otelagents traces and measures every run through the global providers without it; the instrumentor is
how ``opentelemetry-instrument`` (zero-code) finds it, and how an application passes providers the
standard way::

    from otelagents.instrumentation import OtelAgentsInstrumentor
    OtelAgentsInstrumentor().instrument(tracer_provider=..., meter_provider=...)
    ...
    OtelAgentsInstrumentor().uninstrument()      # no otelagents telemetry any more, default included

``instrument(**kwargs)`` accepts ``tracer_provider``, ``meter_provider`` and the keyword settings of
``otelagents.telemetry.Telemetry`` (``capture_content``, ``content_max_length``, ``stall_threshold_s``).
Listing ``otelagents`` in ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` keeps ``opentelemetry-instrument`` from
applying it and turns the default observer off.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from otelagents.telemetry._observer import Telemetry, instrument, uninstrument

__all__ = ["OtelAgentsInstrumentor"]

_SETTINGS = ("tracer_provider", "meter_provider", "capture_content", "content_max_length", "stall_threshold_s")


class OtelAgentsInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Registers a ``Telemetry`` for every otelagents run (in place of the default observer)."""

    _telemetry: Telemetry | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()  # part of otelagents itself: nothing else to be installed

    def _instrument(self, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - set(_SETTINGS))
        if unknown:
            raise TypeError(f"OtelAgentsInstrumentor.instrument() got unknown settings {unknown}; "
                            f"it accepts {list(_SETTINGS)}")
        settings = {key: value for key, value in kwargs.items() if value is not None}
        uninstrument()  # the instrumentor's settings win over an earlier instrument() or the default
        type(self)._telemetry = instrument(**settings)

    def _uninstrument(self, **kwargs: Any) -> None:
        uninstrument(type(self)._telemetry)
        type(self)._telemetry = None
