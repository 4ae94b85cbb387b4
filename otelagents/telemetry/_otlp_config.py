"""Where OTLP goes: protocol and endpoint from arguments or the ``OTEL_EXPORTER_OTLP_*`` variables.

Shared by ``setup()`` and the demo so that both resolve a collector the same way: the protocol is the
argument, else ``OTEL_EXPORTER_OTLP_{TRACES,METRICS}_PROTOCOL``, else ``OTEL_EXPORTER_OTLP_PROTOCOL``, else
``grpc``; a signal-specific endpoint variable is used verbatim; ``http/protobuf`` appends ``/v1/<signal>`` to
a base endpoint.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter

PROTOCOLS = ("grpc", "http/protobuf")


def env_value(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value is not None and value.strip() else None


def resolve_protocol(signal: str, given: str | None) -> str:
    source = "otlp_protocol"
    value = given
    if value is None:
        for name in (f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
            value, source = env_value(name), name
            if value is not None:
                break
    protocol = (value or "grpc").strip().lower()
    if protocol not in PROTOCOLS:
        raise ValueError(f"OTLP protocol {value!r} (from {source}) is not supported: use 'grpc' or "
                         f"'http/protobuf'")
    return protocol


def resolve_endpoint(signal: str, given: str | None, protocol: str) -> str | None:
    base = given
    if base is None:
        specific = env_value(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
        if specific is not None:
            return specific  # used verbatim, as the OpenTelemetry specification says
        base = env_value("OTEL_EXPORTER_OTLP_ENDPOINT")
        if base is None:
            return None
    if "://" not in base:
        base = "http://" + base
    if protocol == "grpc":
        return base
    base = base.rstrip("/")
    for suffix in ("/v1/traces", "/v1/metrics"):
        base = base.removesuffix(suffix)
    return f"{base}/v1/{signal}"


def span_exporter(protocol: str, endpoint: str) -> SpanExporter:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GRPCSpanExporter

        return GRPCSpanExporter(endpoint=endpoint)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HTTPSpanExporter

    return HTTPSpanExporter(endpoint=endpoint)


def metric_exporter(protocol: str, endpoint: str) -> Any:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GRPCExporter

        return GRPCExporter(endpoint=endpoint)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HTTPExporter

    return HTTPExporter(endpoint=endpoint)
