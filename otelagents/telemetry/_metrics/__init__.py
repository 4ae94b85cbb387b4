"""otelagents' own metrics pipeline: a cheap aggregation engine and its exporters.

``engine`` aggregates in process (well under a microsecond per streamed chunk); ``prometheus`` serves it on
``/metrics`` with exemplars; ``otlp`` pushes it through an OpenTelemetry SDK OTLP metric exporter;
``otel_api`` is a drop-in sink that records through an application's own OpenTelemetry MeterProvider.
"""

from otelagents.telemetry._metrics.engine import (
    OVERFLOW_ATTRIBUTE,
    AttrValue,
    BoundCounter,
    BoundHistogram,
    Counter,
    Exemplar,
    ExemplarSample,
    Gauge,
    Histogram,
    HistogramPoint,
    MetricsEngine,
    MetricSnapshot,
    NumberPoint,
)
from otelagents.telemetry._metrics.otel_api import OTelAPISink
from otelagents.telemetry._metrics.otlp import OTLPMetricsBridge, to_metrics_data
from otelagents.telemetry._metrics.prometheus import (
    MetricsPortInUseError,
    MetricsServer,
    PrometheusCollector,
    le_label,
)

__all__ = [
    "OVERFLOW_ATTRIBUTE",
    "AttrValue",
    "BoundCounter",
    "BoundHistogram",
    "Counter",
    "Exemplar",
    "ExemplarSample",
    "Gauge",
    "Histogram",
    "HistogramPoint",
    "MetricSnapshot",
    "MetricsEngine",
    "MetricsPortInUseError",
    "MetricsServer",
    "NumberPoint",
    "OTLPMetricsBridge",
    "OTelAPISink",
    "PrometheusCollector",
    "le_label",
    "to_metrics_data",
]
