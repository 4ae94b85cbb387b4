"""Grafana panel builders (schema 39) and a left-to-right grid layout.

Panels are plain dicts. Builders take the Prometheus family names a panel reads, so that every
description ends with "Metric: `<name>`" and the checks can match it against the queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import promql

Json = dict[str, Any]

PROMETHEUS = {"type": "prometheus", "uid": "${datasource}"}
TEMPO = {"type": "tempo", "uid": "${traces_datasource}"}
TOKENS_PER_SECOND = "count:tok/s"
NO_TRAFFIC = "No traffic"

# Fixed colours so that a quantile looks the same on every panel.
QUANTILE_COLOURS = {
    "p5": "super-light-blue", "p50": "light-blue", "p95": "blue", "p99": "dark-blue", "mean": "purple",
}


@dataclass(frozen=True)
class Query:
    """One Prometheus target."""

    expr: str
    legend: str = "__auto"
    instant: bool = False
    fmt: str = "time_series"  # or "heatmap", "table"
    exemplar: bool = False


def quantile_queries(
    m: promql.Metric, qs: tuple[float, ...] = (0.5, 0.95, 0.99), with_mean: bool = False,
    exemplar: bool = True,
) -> list[Query]:
    """``p50``/``p95``/``p99`` (and ``mean``) targets of one histogram, legends matching the colours."""
    out = [Query(promql.quantile(x, m), legend=f"p{round(x * 100)}", exemplar=exemplar) for x in qs]
    if with_mean:
        out.append(Query(promql.mean(m), legend="mean", exemplar=exemplar))
    return out


def _targets(queries: list[Query]) -> list[Json]:
    out = []
    for index, q in enumerate(queries):
        out.append({
            "datasource": dict(PROMETHEUS),
            "refId": chr(ord("A") + index),
            "expr": q.expr,
            "legendFormat": q.legend,
            "range": not q.instant,
            "instant": q.instant,
            "format": q.fmt,
            "exemplar": q.exemplar,
            "editorMode": "code",
        })
    return out


def describe(text: str, metrics: tuple[str, ...]) -> str:
    names = ", ".join(f"`{m}`" for m in metrics)
    return f"{text.rstrip()} Metric: {names}"


def _no_traffic() -> list[Json]:
    return [{"type": "special", "options": {"match": "nan", "result": {"text": NO_TRAFFIC, "index": 0}}}]


def _thresholds(steps: tuple[tuple[float, str], ...]) -> Json:
    base = [{"color": "green", "value": None}]
    return {"mode": "absolute", "steps": base + [{"color": c, "value": v} for v, c in steps]}


def _colour_overrides(queries: list[Query]) -> list[Json]:
    out = []
    for q in queries:
        colour = QUANTILE_COLOURS.get(q.legend)
        if colour:
            out.append({
                "matcher": {"id": "byName", "options": q.legend},
                "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": colour}}],
            })
    return out


@dataclass
class Panel:
    """A panel before layout: its JSON body and its size on the 24-column grid."""

    body: Json
    w: int
    h: int


def stat(
    title: str, text: str, metrics: tuple[str, ...], query: Query, unit: str,
    thresholds: tuple[tuple[float, str], ...] = (), decimals: int | None = None,
) -> Panel:
    defaults: Json = {
        "unit": unit, "noValue": NO_TRAFFIC, "mappings": _no_traffic(),
        "thresholds": _thresholds(thresholds), "color": {"mode": "thresholds"},
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    return Panel({
        "type": "stat", "title": title, "description": describe(text, metrics),
        "datasource": dict(PROMETHEUS), "targets": _targets([query]),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value", "graphMode": "area", "justifyMode": "auto", "textMode": "value",
            "orientation": "auto",
        },
    }, w=3, h=4)


def timeseries(
    title: str, text: str, metrics: tuple[str, ...], queries: list[Query], unit: str,
    w: int = 12, h: int = 8, stack: bool = False,
) -> Panel:
    custom: Json = {
        "drawStyle": "line", "lineWidth": 1, "fillOpacity": 10 if not stack else 60,
        "showPoints": "never", "spanNulls": False,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
    }
    return Panel({
        "type": "timeseries", "title": title, "description": describe(text, metrics),
        "datasource": dict(PROMETHEUS), "targets": _targets(queries),
        "fieldConfig": {
            "defaults": {"unit": unit, "min": 0, "noValue": NO_TRAFFIC, "custom": custom,
                         "color": {"mode": "palette-classic"}},
            "overrides": _colour_overrides(queries),
        },
        "options": {
            "tooltip": {"mode": "multi", "sort": "desc"},
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        },
    }, w=w, h=h)


def heatmap(
    title: str, text: str, metrics: tuple[str, ...], expr: str, unit: str, w: int = 12, h: int = 8,
) -> Panel:
    return Panel({
        "type": "heatmap", "title": title, "description": describe(text, metrics),
        "datasource": dict(PROMETHEUS),
        "targets": _targets([Query(expr, legend="{{le}}", fmt="heatmap")]),
        "fieldConfig": {"defaults": {"unit": unit, "noValue": NO_TRAFFIC}, "overrides": []},
        "options": {
            "calculate": False,
            "yAxis": {"axisPlacement": "left", "unit": unit},
            "rowsFrame": {"layout": "auto"},
            "color": {"mode": "scheme", "scheme": "Blues", "scale": "exponential", "exponent": 0.5},
            "cellGap": 1,
            "tooltip": {"mode": "single", "yHistogram": True},
            "legend": {"show": True},
            "exemplars": {"color": "rgba(255,0,255,0.7)"},
        },
    }, w=w, h=h)


def bar_gauge(
    title: str, text: str, metrics: tuple[str, ...], expr: str, unit: str, w: int = 12, h: int = 8,
) -> Panel:
    """Bucket shares over the range, one bar per bucket, in bound order (``format: heatmap``)."""
    return Panel({
        "type": "bargauge", "title": title, "description": describe(text, metrics),
        "datasource": dict(PROMETHEUS),
        "targets": _targets([Query(expr, legend="{{le}}", instant=True, fmt="heatmap")]),
        "fieldConfig": {
            "defaults": {"unit": unit, "min": 0, "max": 1, "noValue": NO_TRAFFIC,
                         "color": {"mode": "continuous-BlPu"}},
            "overrides": [],
        },
        "options": {
            "orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True,
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        },
    }, w=w, h=h)


def table(
    title: str, text: str, metrics: tuple[str, ...], columns: list[tuple[str, str, str]],
    key: str, w: int = 24, h: int = 7,
) -> Panel:
    """A range table: one instant query per ``(column title, expr, unit)``, merged on ``key``."""
    queries = [Query(expr, legend=name, instant=True, fmt="table") for name, expr, _ in columns]
    # Grafana names a single query's value column "Value", several queries' "Value #A", "Value #B", ...
    values = ["Value"] if len(columns) == 1 else [f"Value #{chr(ord('A') + i)}" for i in range(len(columns))]
    rename = {value: name for value, (name, _, _) in zip(values, columns, strict=True)}
    overrides = [
        {"matcher": {"id": "byName", "options": name}, "properties": [{"id": "unit", "value": unit}]}
        for name, _, unit in columns
    ]
    return Panel({
        "type": "table", "title": title, "description": describe(text, metrics),
        "datasource": dict(PROMETHEUS), "targets": _targets(queries),
        "fieldConfig": {"defaults": {"unit": "none", "noValue": NO_TRAFFIC}, "overrides": overrides},
        "options": {"showHeader": True, "sortBy": [{"displayName": columns[0][0], "desc": True}]},
        "transformations": [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {
                "excludeByName": {"Time": True}, "renameByName": rename,
                "indexByName": {key: 0, **{name: i + 1 for i, (name, _, _) in enumerate(columns)}},
            }},
        ],
    }, w=w, h=h)


def traces(title: str, text: str, traceql: str, w: int = 24, h: int = 8) -> Panel:
    """A Tempo search table (not PromQL); links each row to its trace."""
    return Panel({
        "type": "table", "title": title, "description": f"{text.rstrip()} Traces: `{traceql}`",
        "datasource": dict(TEMPO),
        "targets": [{"datasource": dict(TEMPO), "refId": "A", "queryType": "traceql",
                     "query": traceql, "limit": 20, "tableType": "traces"}],
        "fieldConfig": {"defaults": {"unit": "none", "noValue": "No traces"}, "overrides": []},
        "options": {"showHeader": True},
    }, w=w, h=h)


def row(title: str) -> Panel:
    return Panel({"type": "row", "title": title, "collapsed": False, "panels": []}, w=24, h=1)


@dataclass
class Layout:
    """Places panels left to right on a 24-column grid; a row starts a new line."""

    panels: list[Json] = field(default_factory=list)
    x: int = 0
    y: int = 0
    line_height: int = 0

    def add(self, *items: Panel) -> None:
        for item in items:
            if item.body["type"] == "row" or self.x + item.w > 24:
                self._newline()
            body = dict(item.body)
            body["id"] = len(self.panels) + 1
            body["gridPos"] = {"x": self.x, "y": self.y, "w": item.w, "h": item.h}
            self.panels.append(body)
            self.x += item.w
            self.line_height = max(self.line_height, item.h)
            if item.body["type"] == "row":
                self._newline()

    def _newline(self) -> None:
        if self.x:
            self.y += self.line_height
        self.x, self.line_height = 0, 0
