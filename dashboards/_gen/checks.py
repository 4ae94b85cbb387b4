"""Checks that tie the generated files to ``semconv.METRICS``, and query extraction for other tests.

- every metric a query reads is defined in ``semconv.METRICS`` (with the series suffix its kind has),
- every ``le="..."`` literal (and every value of a variable used as one) is a configured bound string,
- ``all_queries`` hands every dashboard query, variables substituted, to tests that run them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from otelagents.telemetry import semconv

from .panels import Json
from .promql import bound_strings
from .scan import selectors

# Series Prometheus itself provides.
BUILTIN_SERIES = frozenset({"up"})
_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("",), "gauge": ("",)}
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


@functools.cache
def series_names() -> Mapping[str, semconv.MetricSpec]:
    """Every series name the metric table exposes, mapped to its spec."""
    out = {}
    for spec in semconv.METRICS:
        for suffix in _SUFFIXES[spec.kind]:
            out[spec.prometheus_name + suffix] = spec
    return MappingProxyType(out)


def _strip(name: str) -> str:
    for suffix in ("_bucket", "_sum", "_count", "_total"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def metric_problems(expr: str, recorded: Iterable[str] = ()) -> list[str]:
    """Names in ``expr`` that are neither series of ``semconv.METRICS``, Prometheus's own, nor recorded."""
    known = series_names()
    bases = {_strip(name): spec for name, spec in known.items()}
    problems = []
    for sel in selectors(expr):
        name = sel.name
        if name in known or name in BUILTIN_SERIES or name in set(recorded):
            continue
        spec = bases.get(_strip(name)) or bases.get(name)
        if spec is not None:
            wanted = ", ".join(spec.prometheus_name + s for s in _SUFFIXES[spec.kind])
            problems.append(f"`{name}`: {spec.name} is a {spec.kind}; its series are {wanted}")
        elif ":" in name:
            problems.append(f"`{name}` looks like a recording rule, but no rule records it")
        else:
            problems.append(f"`{name}` is not defined in otelagents.telemetry.semconv.METRICS")
    return problems


NO_VARIABLES: Mapping[str, Iterable[str]] = MappingProxyType({})


def le_problems(expr: str, variable_values: Mapping[str, Iterable[str]] = NO_VARIABLES) -> list[str]:
    """``le`` matchers whose value is not one of that histogram's bucket bound strings.

    A ``$var`` value is checked through ``variable_values[var]`` (the variable's options).
    """
    known = series_names()
    problems = []
    for sel in selectors(expr):
        for label, _op, value in sel.matchers:
            if label != "le":
                continue
            spec = known.get(sel.name)
            if spec is None or spec.kind != "histogram" or not sel.name.endswith("_bucket"):
                problems.append(f'`{sel.name}{{le="{value}"}}`: only a histogram\'s _bucket series has le')
                continue
            allowed = bound_strings(spec)
            match = _VARIABLE.fullmatch(value)
            if match:
                values = list(variable_values.get(match.group(1) or match.group(2), ["<undefined variable>"]))
            else:
                values = [value]
            for v in values:
                if v not in allowed:
                    problems.append(f'`{sel.name}`: le="{v}" is not a bucket bound string of {spec.name} '
                                    f"(bounds: {', '.join(allowed)})")
    return problems


def prometheus_targets(dashboard: Json) -> Iterable[tuple[str, Json]]:
    """``(panel title, target)`` for every Prometheus target of a dashboard."""
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            if target.get("datasource", {}).get("type") == "prometheus":
                yield panel["title"], target


def variable_selectors(dashboard: Json) -> list[tuple[str, str]]:
    """``(variable name, selector)`` from every ``label_values(selector, label)`` variable query."""
    out = []
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", var["definition"])
            if not match:
                raise ValueError(f"variable {var['name']}: expected label_values(selector, label), "
                                 f"got {var['definition']!r}")
            out.append((var["name"], match.group(1)))
    return out


def custom_values(dashboard: Json) -> dict[str, list[str]]:
    return {v["name"]: [o["value"] for o in v["options"]]
            for v in dashboard["templating"]["list"] if v["type"] == "custom"}


def substitute(expr: str, substitutions: Mapping[str, str]) -> str:
    """Replace ``$name`` and ``${name}`` with ``substitutions[name]``; every variable must be given."""
    missing = sorted({a or b for a, b in _VARIABLE.findall(expr)} - set(substitutions))
    if missing:
        raise KeyError(f"no substitution for {', '.join('$' + m for m in missing)} in {expr!r}; "
                       "pass a value for each in substitutions")
    return _VARIABLE.sub(lambda m: substitutions[m.group(1) or m.group(2)], expr)


def queries(dashboards: Iterable[Json], substitutions: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(dashboard uid, panel title, expr)`` for every Prometheus target, variables substituted."""
    return [(dash["uid"], title, substitute(target["expr"], substitutions))
            for dash in dashboards for title, target in prometheus_targets(dash)]


def dashboard_problems(dashboard: Json) -> list[str]:
    """Metric-name and ``le`` problems in a dashboard's targets and variable queries."""
    values = custom_values(dashboard)
    problems = []
    exprs = [(title, t["expr"]) for title, t in prometheus_targets(dashboard)]
    exprs += [(f"variable {name}", sel) for name, sel in variable_selectors(dashboard)]
    for title, expr in exprs:
        for problem in metric_problems(expr) + le_problems(expr, values):
            problems.append(f"{dashboard['uid']} / {title}: {problem}")
    return problems


def rules_problems(rules: Json, tests: Json) -> list[str]:
    """Metric-name and ``le`` problems in the rules, and in the test file's input series."""
    recorded = [r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r]
    problems = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            name = rule.get("record") or rule.get("alert")
            for problem in metric_problems(rule["expr"], recorded) + le_problems(rule["expr"]):
                problems.append(f"rule {name}: {problem}")
    for test in tests["tests"]:
        for series in test["input_series"]:
            for problem in metric_problems(series["series"]) + le_problems(series["series"]):
                problems.append(f"test {test['name']!r}: {problem}")
    return problems
