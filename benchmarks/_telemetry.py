"""Full telemetry, as a production user gets it from ``otelagents.telemetry.setup(...)``.

An SDK ``TracerProvider`` with a ``BatchSpanProcessor`` and an OTLP/gRPC span exporter, and a
``MetricsEngine`` exported both by an ``OTLPMetricsBridge`` (OTLP push) and a ``MetricsServer`` (``/metrics``,
scraped by the collector process). Everything goes to the collector in its own process. The observer is not
registered globally (``instrument=False``): runs opt in with ``RunConfig(observers=[full.telemetry])``, so
the "off" runs have no observer at all.
"""

from __future__ import annotations

from typing import Any

from benchmarks._collector import CollectorProcess


class FullTelemetry:
    """What ``setup()`` built, wired to ``collector``; ``close()`` flushes and shuts it down."""

    def __init__(self, collector: CollectorProcess, export_interval_s: float) -> None:
        from otelagents.telemetry import setup

        self.handle = setup(service_name="otelagents-bench", otlp_endpoint=collector.grpc_endpoint,
                            otlp_protocol="grpc", prometheus_port=0, metrics_interval_s=export_interval_s,
                            instrument=False)
        if not self.handle.enabled or self.handle.metrics_server is None or self.handle.engine is None:
            raise RuntimeError("otelagents.telemetry.setup() returned a no-op handle (is OTEL_SDK_DISABLED=true "
                               "set?); unset it to benchmark full telemetry")
        self.telemetry: Any = self.handle.telemetry
        self.tracer_provider: Any = self.handle.tracer_provider
        self.engine: Any = self.handle.engine
        collector.scrape(self.handle.metrics_server.url, export_interval_s)

    def close(self) -> None:
        self.handle.shutdown(timeout_s=10.0)
