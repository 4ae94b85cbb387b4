"""Every dashboard query and every alerting and recording rule, run against a real Prometheus holding a real workload.

The workload of ``tests/e2e_workload.py`` runs twice while Prometheus 2.42 scrapes every second and
evaluates ``dashboards/alerts/otelagents-alerts.yml``. Then every query of every panel (Grafana variables
substituted as Grafana would) must return data, with no NaN, for the "All" selection and for each model;
the variable queries must find this run's job, instance, agents and models; every SLO option must be a
bucket bound; and the rules must evaluate, record, and put exactly the alerts the workload deserves in
``pending``.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from dashboards import generate
from otelagents.telemetry import semconv as sc
from otelagents.testing.prometheus import JOB_NAME, PrometheusQueryError
from tests.conftest import require_binary
from tests.e2e_workload import CHAT_MODEL, RESPONSES_MODEL, TTFT_S, Scraped, chat_span_values, scraped_workload

DASHBOARDS = Path(generate.__file__).resolve().parent
RULES_FILE = DASHBOARDS / generate.ALERTS_FILE
RANGE = "5m"  # $__range: longer than the whole workload


@pytest.fixture(scope="module")
def scraped() -> Iterator[Scraped]:
    with scraped_workload(require_binary("prometheus"), rule_files=[str(RULES_FILE)]) as result:
        yield result


def substitutions(scraped: Scraped, selection: str) -> dict[str, str]:
    """Grafana's values for the variables: the "All" values, or this run's job and instance and one model."""
    values = {**generate.PARSE_SUBSTITUTIONS, "__rate_interval": scraped.rate_window, "__range": RANGE}
    if selection == "all":
        return {**values, "job": ".+", "instance": ".+", "agent": ".*", "model": ".*"}
    return {**values, "job": JOB_NAME, "instance": scraped.instance, "agent": ".*", "model": selection}


def evaluate(scraped: Scraped, expr: str) -> tuple[list[float], str | None]:
    """The values of an instant query at the evaluation time, or the reason it has none worth showing."""
    try:
        result = scraped.prom.query(expr, time=scraped.eval_time)
    except PrometheusQueryError as exc:
        return [], f"error: {exc.error}"
    values = [float(r["value"][1]) for r in result]
    if not values:
        return values, "no data"
    if not all(math.isfinite(v) for v in values):
        return values, f"non-finite values {values}"
    return values, None


@pytest.mark.parametrize("selection", ["all", RESPONSES_MODEL, CHAT_MODEL])
def test_every_panel_query_returns_data(scraped: Scraped, selection: str) -> None:
    queries = generate.all_queries(substitutions(scraped, selection))
    assert len(queries) > 50 and {uid for uid, _, _ in queries} == {"otelagents-overview", "otelagents-token-latency"}
    problems = []
    for uid, title, expr in queries:
        _, problem = evaluate(scraped, expr)
        if problem is not None:
            problems.append(f"{uid} / {title!r}: {problem}\n    {expr}")
    assert problems == [], "\n".join(problems)


def dashboard_files() -> dict[str, dict[str, Any]]:
    """The committed dashboards (what Grafana provisions), by uid."""
    found = {}
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        found[dashboard["uid"]] = dashboard
    return found


def variables(dashboard: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in dashboard["templating"]["list"]}


_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>\w+)\)$")


def label_values(scraped: Scraped, definition: str, chosen: Mapping[str, str]) -> set[str]:
    """Evaluate a Grafana ``label_values(selector, label)`` variable query with ``$var`` values ``chosen``."""
    match = _LABEL_VALUES.match(definition)
    assert match is not None, f"not a label_values() query: {definition}"
    selector = re.sub(r"\$(\w+)", lambda m: chosen[m.group(1)], match["selector"])
    label = match["label"]
    result = scraped.prom.query(f"group by ({label}) ({selector})", time=scraped.eval_time)
    return {r["metric"].get(label, "") for r in result}


def test_variable_queries_find_this_runs_job_instance_agents_and_models(scraped: Scraped) -> None:
    expected = scraped.workload.expected
    found = {
        "job": {JOB_NAME},
        "instance": {scraped.instance},
        "agent": set(expected.agent_segments),
        "model": set(expected.calls),
    }
    chosen = {"job": ".+", "instance": ".+", "agent": ".*", "model": ".*"}  # each variable's "All" value
    dashboards = dashboard_files()
    checked = 0
    for uid, dashboard in dashboards.items():
        for name, variable in variables(dashboard).items():
            if variable["type"] != "query":
                continue
            assert label_values(scraped, variable["definition"], chosen) == found[name], (uid, name)
            if variable.get("includeAll"):
                assert variable.get("allValue") == chosen[name], (uid, name)
            checked += 1
    assert checked == 7


@pytest.mark.parametrize("variable", ["ttft_slo", "gap_slo"])
def test_every_slo_option_is_a_bucket_bound_with_data(scraped: Scraped, variable: str) -> None:
    options = [o["value"] for o in variables(dashboard_files()["otelagents-token-latency"])[variable]["options"]]
    assert len(options) >= 5
    base = substitutions(scraped, RESPONSES_MODEL)
    unset = generate.all_queries({**base, variable: "UNSET"})
    first_tokens = chat_span_values(scraped.workload.spans(), sc.OTELAGENTS_TIME_TO_FIRST_TOKEN)[RESPONSES_MODEL]
    problems = []
    for option in options:
        queries = [q for q, u in zip(generate.all_queries({**base, variable: option}), unset, strict=True) if q != u]
        assert len(queries) == 2, f"{variable}={option}: expected a rate and a range attainment query"
        for uid, title, expr in queries:
            values, problem = evaluate(scraped, expr)
            if problem is not None:
                problems.append(f"{variable}={option}: {uid} / {title!r}: {problem}\n    {expr}")
                continue
            assert all(0.0 <= v <= 1.0 for v in values), (option, title, values)
            if variable == "ttft_slo" and float(option) < TTFT_S:  # the server held every first token back
                assert values == [0.0], (option, title, values)
            if variable == "ttft_slo" and all(t <= float(option) for t in first_tokens):
                assert values == [1.0], (option, title, values)
    assert problems == [], "\n".join(problems)


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def test_every_rule_expression_evaluates(scraped: Scraped) -> None:
    all_rules = rules()
    assert len([r for r in all_rules if "record" in r]) >= 4 and len([r for r in all_rules if "alert" in r]) >= 6
    problems = []
    for rule in all_rules:
        name = rule.get("record") or rule["alert"]
        values, problem = evaluate(scraped, rule["expr"])
        if "record" in rule and problem is not None:
            problems.append(f"recording rule {name}: {problem}\n    {rule['expr']}")
        elif problem is not None and problem.startswith("error"):
            problems.append(f"alert {name}: {problem}\n    {rule['expr']}")
    assert problems == [], "\n".join(problems)


def test_prometheus_loaded_and_evaluates_every_rule_healthily(scraped: Scraped) -> None:
    for rule in rules():
        if "record" in rule:  # the recorded series exists (rules run every second)
            scraped.prom.wait_until(rule["record"], timeout_s=10)
    response = httpx.get(f"{scraped.prom.url}/api/v1/rules", timeout=5)
    loaded = [r for g in response.json()["data"]["groups"] for r in g["rules"]]
    assert sorted(r["name"] for r in loaded) == sorted(r.get("record") or r["alert"] for r in rules())
    unhealthy = [(r["name"], r["health"], r.get("lastError")) for r in loaded if r["health"] != "ok"]
    assert unhealthy == []


def pending_alerts(scraped: Scraped) -> set[tuple[str, str]]:
    """``(alertname, model or tool)`` of every alert pending now; none may be firing (each has a ``for:``)."""
    alerts = scraped.prom.query("ALERTS")
    assert {a["metric"]["alertstate"] for a in alerts} <= {"pending"}, alerts
    return {(a["metric"]["alertname"], subject(a["metric"])) for a in alerts}


def subject(labels: Mapping[str, str]) -> str:
    """What an alert is about: its model, tool or instance."""
    return labels.get("gen_ai_request_model") or labels.get("gen_ai_tool_name") or labels.get("instance", "")


def test_alerts_pending_are_exactly_those_the_workload_deserves(scraped: Scraped) -> None:
    """Margins are wide, so the rate() extrapolation over series a few seconds old cannot flip these:

    Model errors: 2 of 12 Responses calls (17 %) and 2 of 8 Chat calls (25 %), threshold 5 %.
    Tool errors: ``broken_tool`` always fails (100 %, threshold 10 %); the others never do.
    Stalls per stream: Chat 6 scripted stalls over 6 streams (1.0), threshold 0.5.
    Telemetry present, target up (unless a scrape timed out).

    Timing-driven alerts (first token, stalls) also follow the client's view: a starved client sees later
    first tokens and more stalls. So the pending set must equal what the alert expressions select now.
    """
    deserved = {
        ("OtelagentsModelErrorRatioHigh", RESPONSES_MODEL),
        ("OtelagentsModelErrorRatioHigh", CHAT_MODEL),
        ("OtelagentsToolErrorRatioHigh", "broken_tool"),
        ("OtelagentsInterTokenStalls", CHAT_MODEL),
    }
    alerts = [rule for rule in rules() if "alert" in rule]
    deadline = time.monotonic() + 10
    while True:
        selected = {(rule["alert"], subject(r["metric"])) for rule in alerts for r in scraped.prom.query(rule["expr"])}
        found = pending_alerts(scraped)
        if found == selected >= deserved or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert found == selected
    assert deserved <= found
    every_scrape_succeeded = scraped.prom.query(f'min_over_time(up{{job="{JOB_NAME}"}}[10m]) == 1')
    if every_scrape_succeeded:  # on a starved machine a scrape can time out: the target was down then
        assert not {name for name, _ in found} & {"OtelagentsTelemetryAbsent", "OtelagentsTargetDown"}
    assert ("OtelagentsToolErrorRatioHigh", "get_weather") not in found
