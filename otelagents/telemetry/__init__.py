"""OpenTelemetry for otelagents: GenAI-convention spans and token-stream metrics for every run.

On by default: with no call at all, every run is traced and measured through the global OpenTelemetry
providers (nothing is recorded while none is configured). Off: ``RunConfig(tracing_disabled=True)`` per
run, ``disable()``, ``OTEL_SDK_DISABLED=true`` or ``otelagents`` in ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS``.

Two ways to choose the settings (each replaces the default observer; a run is observed once):

* your application already configures OpenTelemetry: ``otelagents.telemetry.instrument()`` observes every
  run through the global tracer and meter providers (or pass ``tracer_provider=`` / ``meter_provider=``);
* it does not: ``otelagents.telemetry.setup()`` builds a tracer provider, a metrics engine served on
  ``/metrics`` and, given an endpoint, OTLP export of both, then instruments; it returns a handle to
  flush and shut down.

Per run, add ``RunConfig(observers=[Telemetry(...)])`` instead of a global registration. Importing this
package is free: nothing is imported from OpenTelemetry until one of these names is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from otelagents.telemetry._default import active_telemetry
    from otelagents.telemetry._metrics import MetricsEngine, OTelAPISink
    from otelagents.telemetry._observer import Telemetry, disable, instrument, uninstrument
    from otelagents.telemetry._setup import TelemetryHandle, setup

__all__ = ["MetricsEngine", "OTelAPISink", "Telemetry", "TelemetryHandle", "active_telemetry", "disable", "instrument",
           "setup", "uninstrument"]

_LAZY = {
    "Telemetry": "otelagents.telemetry._observer",
    "instrument": "otelagents.telemetry._observer",
    "uninstrument": "otelagents.telemetry._observer",
    "disable": "otelagents.telemetry._observer",
    "active_telemetry": "otelagents.telemetry._default",
    "setup": "otelagents.telemetry._setup",
    "TelemetryHandle": "otelagents.telemetry._setup",
    "MetricsEngine": "otelagents.telemetry._metrics",
    "OTelAPISink": "otelagents.telemetry._metrics",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'otelagents.telemetry' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
