"""The default observer: every run is traced and measured through the global OpenTelemetry providers.

With no otelagents call, an application that configures OpenTelemetry the usual way (global
``TracerProvider`` and ``MeterProvider``, or ``opentelemetry-instrument``) gets otelagents' spans and
metrics, as from a natively instrumented library. The run loop loads ``DEFAULT_TELEMETRY`` into its
telemetry slot on the first run (``otelagents._observing``).

Cost while no SDK is configured: per run, two environment look-ups and the two global providers compared
with the ones seen before; no span, no metric. Once a provider is set, runs go through a ``Telemetry`` over
the global providers (rebuilt when they change), whose metrics are aggregated by otelagents' engine and
collected by the application's metric readers.

Off switches: ``RunConfig(tracing_disabled=True)`` per run; ``OTEL_SDK_DISABLED=true`` or ``otelagents`` in
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` process-wide; ``otelagents.telemetry.disable()``. A run whose
``RunConfig.observers`` (or ``add_run_observer``'s list) already holds a ``Telemetry`` is left to it (a run
is traced once).

Other front doors (e.g. the Agents SDK plugin) get the telemetry in effect with ``active_telemetry()``.
"""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry import metrics, trace

from otelagents._observing import get_run_observers, telemetry_observer
from otelagents.observer import NOOP_RUN, RunInfo, RunObservation, RunObserver
from otelagents.telemetry._observer import Telemetry
from otelagents.telemetry._providers import (
    disabled_by_environment,
    meter_provider_configured,
    tracer_provider_configured,
)

__all__ = ["DEFAULT_TELEMETRY", "DefaultTelemetry", "active_telemetry"]


class DefaultTelemetry(RunObserver):
    """Observes runs through whatever global providers are set when each run starts (see the module)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: tuple[Any, Any, Telemetry | None] = (None, None, None)

    def run_started(self, run: RunInfo) -> RunObservation:
        if run.run_config.tracing_disabled or disabled_by_environment():
            return NOOP_RUN
        if any(isinstance(observer, Telemetry) for observer in (*run.run_config.observers, *get_run_observers())):
            return NOOP_RUN  # the run already has its Telemetry (per run, or add_run_observer(Telemetry(...)))
        telemetry = self.resolve()
        return NOOP_RUN if telemetry is None else telemetry.run_started(run)

    def resolve(self) -> Telemetry | None:
        """The ``Telemetry`` over the current global providers; None while neither is configured."""
        tracer_provider = trace.get_tracer_provider()
        meter_provider = metrics.get_meter_provider()
        seen_tracers, seen_meters, telemetry = self._seen
        if seen_tracers is tracer_provider and seen_meters is meter_provider:
            return telemetry
        with self._lock:
            if not (tracer_provider_configured(tracer_provider) or meter_provider_configured(meter_provider)):
                telemetry = None
            else:
                telemetry = Telemetry(tracer_provider=tracer_provider, meter_provider=meter_provider)
            self._seen = (tracer_provider, meter_provider, telemetry)
            return telemetry


DEFAULT_TELEMETRY = DefaultTelemetry()


def active_telemetry() -> Telemetry | None:
    """The ``Telemetry`` a run started now would be observed by process-wide, or None.

    The one ``instrument()`` / ``setup()`` registered; else the default observer's, over the global
    providers (None while no OpenTelemetry provider is configured, or when turned off by ``disable()``
    or the environment). Another front door (e.g. an instrumentation of the Agents SDK) calls this at
    each run to feed the same observer, so its runs share spans' providers and metrics' engine.
    """
    current = telemetry_observer()
    if isinstance(current, Telemetry):
        return current
    if isinstance(current, DefaultTelemetry) and not disabled_by_environment():
        return current.resolve()
    return None
