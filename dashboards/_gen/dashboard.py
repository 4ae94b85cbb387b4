"""Dashboard skeleton and template variables shared by every otelagents dashboard."""

from __future__ import annotations

from otelagents.telemetry import semconv

from .panels import PROMETHEUS, Json

TAG = "otelagents"
SCHEMA_VERSION = 39
INFO_METRIC = semconv.METRICS_BY_NAME[semconv.METRIC_INFO].prometheus_name
# Grafana's "refresh on time range change".
REFRESH_ON_TIME_CHANGE = 2


def datasource_variable(name: str, plugin: str, label: str) -> Json:
    return {
        "type": "datasource", "name": name, "label": label, "query": plugin,
        "current": {}, "hide": 0, "refresh": 1, "regex": "", "includeAll": False, "multi": False,
        "options": [],
    }


def query_variable(
    name: str, label: str, metric_selector: str, label_name: str, multi: bool = True,
    all_value: str = ".+",
) -> Json:
    """A ``label_values(selector, label)`` variable, chained on the variables its selector names."""
    definition = f"label_values({metric_selector}, {label_name})"
    variable: Json = {
        "type": "query", "name": name, "label": label,
        "datasource": dict(PROMETHEUS),
        "definition": definition,
        "query": {"qryType": 1, "query": definition, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": REFRESH_ON_TIME_CHANGE, "sort": 1, "regex": "", "hide": 0,
        "multi": multi, "includeAll": multi, "current": {}, "options": [],
    }
    if multi:
        variable["allValue"] = all_value
    return variable


def custom_variable(name: str, label: str, choices: list[tuple[str, str]], default: str) -> Json:
    """A custom variable; ``choices`` are ``(text, value)`` pairs and ``default`` is a value."""
    options = [{"text": t, "value": v, "selected": v == default} for t, v in choices]
    text = next(t for t, v in choices if v == default)
    return {
        "type": "custom", "name": name, "label": label,
        "query": ", ".join(f"{t} : {v}" for t, v in choices),
        "current": {"text": text, "value": default, "selected": True},
        "options": options, "multi": False, "includeAll": False, "hide": 0,
    }


def job_instance_variables() -> list[Json]:
    """``job`` then ``instance``, from the gauge that is present whenever telemetry runs."""
    return [
        query_variable("job", "Job", INFO_METRIC, "job"),
        query_variable("instance", "Instance", f'{INFO_METRIC}{{job=~"$job"}}', "instance"),
    ]


def dashboard(uid: str, title: str, description: str, variables: list[Json], panels: list[Json]) -> Json:
    return {
        "id": None,
        "uid": uid,
        "title": title,
        "description": description,
        "tags": [TAG],
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
            "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
            "type": "dashboard",
        }]},
        "links": [{
            "type": "dashboards", "title": "otelagents", "tags": [TAG], "asDropdown": False,
            "includeVars": True, "keepTime": True, "icon": "external link", "targetBlank": False,
            "tooltip": "", "url": "",
        }],
        "templating": {"list": variables},
        "panels": panels,
    }
