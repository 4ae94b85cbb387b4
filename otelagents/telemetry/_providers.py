"""Which OpenTelemetry providers the application configured, and where a ``Telemetry`` records its metrics.

"Configured" means the application installed a provider (the SDK's, or another implementation); the API's
proxy (nothing set yet) and no-op providers are not. Metrics always go through otelagents' own engine when
the provider is the SDK's (its readers collect the engine's aggregates, see ``_metrics.sdk_bridge``); only
another API implementation gets one API call per value (``OTelAPISink``).
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import metrics, trace

from otelagents.telemetry._instruments import MetricsSink

try:  # the API's "nothing set yet" meter provider has no public name
    from opentelemetry.metrics._internal import _ProxyMeterProvider
except ImportError:  # pragma: no cover - a future API without it
    _ProxyMeterProvider = metrics.NoOpMeterProvider  # type: ignore[assignment,misc]

_UNSET_TRACERS = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
_UNSET_METERS = (_ProxyMeterProvider, metrics.NoOpMeterProvider)
INSTRUMENTATION_NAME = "otelagents"


def tracer_provider_configured(provider: object) -> bool:
    return not isinstance(provider, _UNSET_TRACERS)


def meter_provider_configured(provider: object) -> bool:
    return not isinstance(provider, _UNSET_METERS)


def disabled_by_environment() -> bool:
    """The OpenTelemetry switches that turn otelagents' default telemetry off for the whole process.

    ``OTEL_SDK_DISABLED=true``, or ``otelagents`` in the comma-separated
    ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` (as ``opentelemetry-instrument`` reads it).
    """
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return True
    listed = os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "")
    return INSTRUMENTATION_NAME in (name.strip() for name in listed.split(","))


def sink_for(provider: Any) -> tuple[MetricsSink, bool]:
    """The sink recording for ``provider``, and whether it is a placeholder (the provider is not configured).

    SDK provider: the engine its readers collect (shared by every ``Telemetry`` on that provider). Not
    configured: a private engine nothing reads (values are dropped, as the API's no-op would), a
    placeholder when it is the API's proxy. Another API implementation: ``OTelAPISink`` (one API call
    per value).
    """
    from otelagents.telemetry._metrics import MetricsEngine, OTelAPISink
    from otelagents.telemetry._metrics.sdk_bridge import engine_for

    engine = engine_for(provider)
    if engine is not None:
        return engine, False
    if not meter_provider_configured(provider):
        # The API's proxy stands for a provider set later: follow it. An explicit no-op stays a no-op.
        return MetricsEngine(), isinstance(provider, _ProxyMeterProvider)
    return OTelAPISink(provider), False


def global_sink() -> tuple[MetricsSink, bool]:
    """``sink_for`` the global meter provider."""
    return sink_for(metrics.get_meter_provider())
