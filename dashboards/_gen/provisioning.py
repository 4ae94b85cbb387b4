"""Grafana provisioning, the Prometheus scrape config and an OpenTelemetry Collector config.

Addresses are loopback defaults for a single-host setup; change them to your hosts.
"""

from __future__ import annotations

from typing import Any

from .alerts import JOB_NAME

Json = dict[str, Any]

PROMETHEUS_UID = "otelagents-prometheus"
TEMPO_UID = "tempo"
SCRAPE_INTERVAL = "5s"
METRICS_TARGET = "127.0.0.1:9464"  # otelagents' own /metrics (prometheus_client)
COLLECTOR_METRICS = "127.0.0.1:8889"  # the Collector's prometheus exporter
# Where Grafana finds the dashboard JSON: mount this repository's dashboards/ folder here.
GRAFANA_DASHBOARDS_PATH = "/etc/grafana/dashboards/otelagents"
ALERTS_PATH = "alerts/otelagents-alerts.yml"  # relative to prometheus.yml
LATEST_NAMES_PATH = "alerts/otelagents-semconv-latest.yml"  # the newest GenAI names read as today's


def datasources() -> Json:
    return {"apiVersion": 1, "datasources": [
        {
            "name": "Prometheus (otelagents)", "type": "prometheus", "uid": PROMETHEUS_UID,
            "access": "proxy", "url": "http://127.0.0.1:9090", "isDefault": True, "editable": False,
            "jsonData": {
                # $__rate_interval is derived from this; keep it equal to the scrape interval.
                "timeInterval": SCRAPE_INTERVAL,
                "httpMethod": "POST",
                "exemplarTraceIdDestinations": [{"name": "trace_id", "datasourceUid": TEMPO_UID}],
            },
        },
        {
            "name": "Tempo", "type": "tempo", "uid": TEMPO_UID, "access": "proxy",
            "url": "http://127.0.0.1:3200", "editable": False,
            "jsonData": {"tracesToMetrics": {"datasourceUid": PROMETHEUS_UID}},
        },
    ]}


def dashboard_provider() -> Json:
    return {"apiVersion": 1, "providers": [{
        "name": "otelagents", "orgId": 1, "folder": "otelagents", "type": "file",
        "disableDeletion": True, "allowUiUpdates": False, "updateIntervalSeconds": 60,
        "options": {"path": GRAFANA_DASHBOARDS_PATH, "foldersFromFilesStructure": False},
    }]}


def prometheus_config() -> Json:
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": "30s"},
        "rule_files": [ALERTS_PATH, LATEST_NAMES_PATH],
        "scrape_configs": [{
            "job_name": JOB_NAME,
            "static_configs": [{"targets": [METRICS_TARGET]}],
        }],
    }


def collector_config() -> Json:
    """OTLP in; metrics out as a Prometheus (OpenMetrics, with exemplars) endpoint; traces to Tempo."""
    return {
        "receivers": {"otlp": {"protocols": {
            "grpc": {"endpoint": "127.0.0.1:4317"},
            "http": {"endpoint": "127.0.0.1:4318"},
        }}},
        "processors": {"batch": {}},
        "exporters": {
            "prometheus": {
                "endpoint": COLLECTOR_METRICS,
                "enable_open_metrics": True,
                "resource_to_telemetry_conversion": {"enabled": True},
            },
            # Tempo's OTLP gRPC receiver, moved off 4317 so that it can share a host with the Collector.
            "otlp/tempo": {"endpoint": "127.0.0.1:4417", "tls": {"insecure": True}},
        },
        "service": {"pipelines": {
            "metrics": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["prometheus"]},
            "traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["otlp/tempo"]},
        }},
    }
