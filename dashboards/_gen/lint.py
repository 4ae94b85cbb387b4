"""The grafana/dashboard-linter rules, re-implemented over dashboard JSON, plus a few of our own.

Each rule returns a list of problems (empty when the dashboard or panel passes). Dashboard rules
take the whole dashboard; panel rules take one panel and the dashboard's variable names.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from otelagents.telemetry import semconv

from .checks import series_names
from .panels import Json
from .scan import selectors, windows

PROMETHEUS_UID = "${datasource}"
TEMPO_UID = "${traces_datasource}"
VALID_WINDOWS = frozenset({"$__rate_interval", "$__range"})
RATE_FUNCTIONS = frozenset({"rate", "irate", "increase"})
# Grafana unit ids used by otelagents dashboards (a subset of Grafana's list) and custom-unit prefixes.
VALID_UNITS = frozenset({
    "s", "ms", "µs", "ns", "m", "h", "d", "dtdurations", "reqps", "rps", "ops", "opm", "rpm", "wps",
    "percent", "percentunit", "short", "none", "bytes", "decbytes", "Bps", "hertz", "locale", "string",
})
CUSTOM_UNIT_PREFIXES = ("count:", "suffix:", "prefix:", "si:")
_DESCRIPTION_METRICS = re.compile(r"Metric: (`[^`]+`(?:, `[^`]+`)*)$")
# Dashboard variable -> the attribute it filters; a selector of a metric with that attribute must use it.
SCOPED_VARIABLES = {"agent": semconv.GEN_AI_AGENT_NAME, "model": semconv.GEN_AI_REQUEST_MODEL}

DashboardRule = Callable[[Json], list[str]]
PanelRule = Callable[[Json, frozenset[str]], list[str]]


def _variables(dashboard: Json) -> list[Json]:
    return list(dashboard.get("templating", {}).get("list", []))


def template_datasource_rule(dashboard: Json) -> list[str]:
    prom = [v for v in _variables(dashboard) if v.get("type") == "datasource" and v.get("query") == "prometheus"]
    if len(prom) != 1 or prom[0].get("name") != "datasource":
        names = [v.get("name") for v in prom]
        return [f"want exactly one prometheus datasource variable named 'datasource', found {names}"]
    return []


def template_job_instance_rule(dashboard: Json) -> list[str]:
    problems = []
    by_name = {v.get("name"): v for v in _variables(dashboard)}
    for name in ("job", "instance"):
        var = by_name.get(name)
        if var is None:
            problems.append(f"no '{name}' variable")
            continue
        if not var.get("multi") or not var.get("includeAll") or var.get("allValue") != ".+":
            problems.append(f"variable {name}: want multi, includeAll and allValue '.+'")
        if var.get("datasource", {}).get("uid") not in ("$datasource", PROMETHEUS_UID):
            problems.append(f"variable {name}: datasource must be $datasource, not {var.get('datasource')}")
    return problems


def template_query_rule(dashboard: Json) -> list[str]:
    """Query variables are ``label_values(selector, label)`` and refresh on time-range change."""
    problems = []
    for var in _variables(dashboard):
        if var.get("type") != "query":
            continue
        if not re.fullmatch(r"label_values\(.+,\s*\w+\)", str(var.get("definition", ""))):
            problems.append(f"variable {var.get('name')}: query is not label_values(selector, label)")
        if var.get("refresh") != 2:
            problems.append(f"variable {var.get('name')}: refresh must be 2 (on time range change)")
    return problems


def uneditable_dashboard_rule(dashboard: Json) -> list[str]:
    return [] if dashboard.get("editable") is False else ["editable must be set to false"]


def panel_datasource_rule(panel: Json, variables: frozenset[str]) -> list[str]:
    problems = []
    for where, ds in [("panel", panel.get("datasource"))] + [
        (f"target {t.get('refId')}", t.get("datasource")) for t in panel.get("targets", [])
    ]:
        ds = ds or {}
        wanted = TEMPO_UID if ds.get("type") == "tempo" else PROMETHEUS_UID
        if ds.get("uid") != wanted:
            problems.append(f"{where}: datasource uid must be {wanted}, not {ds.get('uid')!r}")
    return problems


def panel_title_description_rule(panel: Json, variables: frozenset[str]) -> list[str]:
    problems = []
    if not str(panel.get("title", "")).strip():
        problems.append("no title")
    description = str(panel.get("description", "")).strip()
    if not description:
        problems.append("no description")
    elif panel.get("datasource", {}).get("type") == "prometheus":
        match = _DESCRIPTION_METRICS.search(description)
        if not match:
            problems.append("description must end with Metric: `<prometheus name>`")
        else:
            read = {_family(s.name) for t in panel.get("targets", []) for s in selectors(t.get("expr", ""))}
            for name in re.findall(r"`([^`]+)`", match.group(1)):
                if name not in read:
                    problems.append(f"description names `{name}`, which no query reads")
    return problems


def panel_units_rule(panel: Json, variables: frozenset[str]) -> list[str]:
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
    if unit in VALID_UNITS or (isinstance(unit, str) and unit.startswith(CUSTOM_UNIT_PREFIXES)):
        return []
    return [f"unit {unit!r} is not a valid Grafana unit id"]


def panel_no_targets_rule(panel: Json, variables: frozenset[str]) -> list[str]:
    targets = [t for t in panel.get("targets", []) if (t.get("expr") or t.get("query") or "").strip()]
    return [] if targets else ["no targets"]


def target_rate_interval_rule(panel: Json, variables: frozenset[str]) -> list[str]:
    return [f"window [{w}]: use [$__rate_interval] (or [$__range] for range totals)"
            for expr in _exprs(panel) for w in windows(expr) if w not in VALID_WINDOWS]


def target_job_instance_rule(panel: Json, variables: frozenset[str]) -> list[str]:
    problems = []
    for expr in _exprs(panel):
        for sel in selectors(expr):
            for label in ("job", "instance"):
                if not sel.has(label, "=~", f"${label}"):
                    problems.append(f'`{sel.name}` lacks {label}=~"${label}"')
    return problems


def target_counter_agg_rule(panel: Json, variables: frozenset[str]) -> list[str]:
    return [f"`{sel.name}` is a counter; read it only inside rate/irate/increase, not {sel.function or 'bare'}"
            for expr in _exprs(panel) for sel in selectors(expr)
            if sel.name.endswith("_total") and sel.function not in RATE_FUNCTIONS]


def target_scope_rule(panel: Json, variables: frozenset[str]) -> list[str]:
    """Selectors of metrics that carry the agent or model attribute filter on those variables."""
    known = series_names()
    problems = []
    for expr in _exprs(panel):
        for sel in selectors(expr):
            spec = known.get(sel.name)
            for var, key in SCOPED_VARIABLES.items():
                label = semconv.prometheus_label(key)
                if var in variables and spec is not None and key in spec.attributes \
                        and not sel.has(label, "=~", f"${var}"):
                    problems.append(f'`{sel.name}` lacks {label}=~"${var}"')
    return problems


def _exprs(panel: Json) -> list[str]:
    return [t["expr"] for t in panel.get("targets", [])
            if t.get("datasource", {}).get("type") == "prometheus" and "expr" in t]


def _family(name: str) -> str:
    spec = series_names().get(name)
    return spec.prometheus_name if spec else name


DASHBOARD_RULES: tuple[DashboardRule, ...] = (
    template_datasource_rule, template_job_instance_rule, template_query_rule, uneditable_dashboard_rule,
)
PANEL_RULES: tuple[PanelRule, ...] = (
    panel_datasource_rule, panel_title_description_rule, panel_units_rule, panel_no_targets_rule,
    target_rate_interval_rule, target_job_instance_rule, target_counter_agg_rule, target_scope_rule,
)


def lint(dashboard: Json) -> list[str]:
    """Every rule over one dashboard; problems are prefixed with the rule and panel."""
    uid = dashboard.get("uid", "?")
    problems = [f"{uid}: {rule.__name__}: {p}" for rule in DASHBOARD_RULES for p in rule(dashboard)]
    variables = frozenset(str(v.get("name")) for v in _variables(dashboard))
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            continue
        for prule in PANEL_RULES:
            problems += [f"{uid} / {panel.get('title')}: {prule.__name__}: {p}" for p in prule(panel, variables)]
    return problems
