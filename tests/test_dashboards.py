"""Dashboards, alert rules and provisioning: generated, linted, parsed by promtool, and consistent.

The generator lives in dashboards/generate.py (+ dashboards/_gen/). These tests check the committed
files, re-implement grafana/dashboard-linter's rules (each rule is shown failing on a broken panel),
run every panel query and rule through promtool, and tie the configs to the dashboards and exporter.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.utils import floatToGoString

from dashboards import generate
from dashboards._gen import checks, lint, promql, provisioning, scan
from otelagents.telemetry import semconv
from otelagents.telemetry._metrics.engine import MetricsEngine
from otelagents.telemetry._metrics.prometheus import MetricsServer, PrometheusCollector
from tests.conftest import require_binary

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = ROOT / "dashboards"
Json = dict[str, Any]


def load(rel: str) -> Any:
    text = (DASHBOARDS / rel).read_text(encoding="utf-8")
    return json.loads(text) if rel.endswith(".json") else yaml.safe_load(text)


def dashboard_files() -> list[str]:
    return sorted(p.name for p in DASHBOARDS.glob("*.json"))


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


# --- 1. the generator and its own checks --------------------------------------------------------------
def test_check_passes_on_the_committed_files() -> None:
    result = run(sys.executable, "dashboards/generate.py", "--check")
    assert result.returncode == 0, result.stderr
    assert "all checks pass" in result.stdout


def test_check_names_stale_missing_and_unexpected_files(tmp_path: Path) -> None:
    assert run(sys.executable, str(DASHBOARDS / "generate.py"), "--root", str(tmp_path)).returncode == 0
    overview = tmp_path / "otelagents-overview.json"
    overview.write_text(overview.read_text().replace("$__rate_interval", "5m", 1))
    (tmp_path / "alerts" / "otelagents-alerts.test.yml").unlink()
    (tmp_path / "hand-made.json").write_text("{}")
    result = run(sys.executable, str(DASHBOARDS / "generate.py"), "--check", "--root", str(tmp_path))
    assert result.returncode == 1
    assert "otelagents-overview.json: stale" in result.stderr
    assert "alerts/otelagents-alerts.test.yml: missing" in result.stderr
    assert "hand-made.json: not generated" in result.stderr


def test_metric_check_flags_names_semconv_does_not_define() -> None:
    good = 'sum(rate(gen_ai_client_operation_duration_seconds_count{job=~"$job"}[$__rate_interval]))'
    assert checks.metric_problems(good) == []
    assert checks.metric_problems("sum(rate(gen_ai_client_operation_duration_total[1m]))")
    wrong_suffix = checks.metric_problems("rate(gen_ai_client_operation_duration_seconds_total[1m])")
    assert wrong_suffix and "histogram" in wrong_suffix[0]
    assert checks.metric_problems("rate(otelagents_client_stalls[1m])")  # a counter without _total
    assert checks.metric_problems("job:unknown:rate5m > 1")
    assert checks.metric_problems("job:known:rate5m > 1", recorded=["job:known:rate5m"]) == []


def test_le_check_wants_the_exact_bound_string() -> None:
    gap = semconv.METRICS_BY_NAME[semconv.METRIC_TIME_PER_OUTPUT_CHUNK].prometheus_name
    assert checks.le_problems(f'{gap}_bucket{{le="1.0"}}') == []
    assert checks.le_problems(f'{gap}_bucket{{le="1"}}')  # prometheus_client prints 1.0
    assert checks.le_problems(f'{gap}_bucket{{le="0.04"}}')  # a bound of another histogram
    assert checks.le_problems(f'{gap}_count{{le="1.0"}}')
    assert checks.le_problems(f'{gap}_bucket{{le="$slo"}}', {"slo": ["0.05"]}) == []
    assert checks.le_problems(f'{gap}_bucket{{le="$slo"}}', {"slo": ["0.05", "0.1000"]})
    assert checks.le_problems(f'{gap}_bucket{{le="$undefined"}}')


def test_le_strings_are_what_prometheus_client_prints() -> None:
    bounds = {b for spec in semconv.METRICS for b in spec.buckets} | {0.5, 1e6, 2560.0, 123456789.0}
    for bound in bounds:
        assert promql.le_string(bound) == floatToGoString(bound), bound


def _record_everything(engine: MetricsEngine) -> None:
    """One observation per metric, with every attribute the spec allows (error.type included)."""
    for spec in semconv.METRICS:
        attrs = {key: f"v-{semconv.prometheus_label(key)}" for key in spec.attributes}
        if spec.kind == "histogram":
            engine.histogram(spec.name).record(0.01, attrs)
        elif spec.kind == "counter":
            engine.counter(spec.name).add(1, attrs)
        else:
            engine.gauge(spec.name).set(1, attrs)


def test_every_query_reads_series_and_labels_the_exporter_writes() -> None:
    engine = MetricsEngine()
    _record_everything(engine)
    registry = CollectorRegistry()
    registry.register(PrometheusCollector(engine))
    exposed: dict[str, set[str]] = {}
    le_values: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            exposed.setdefault(sample.name, set()).update(sample.labels)
            if "le" in sample.labels:
                le_values.setdefault(sample.name, set()).add(sample.labels["le"])
    values = {var: vals for d in map(load, dashboard_files()) for var, vals in checks.custom_values(d).items()}
    exprs = [e for _, _, e in generate.all_queries(generate.PARSE_SUBSTITUTIONS | {"ttft_slo": "$ttft_slo",
                                                                                     "gap_slo": "$gap_slo"})]
    rules = load(generate.ALERTS_FILE)
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    for expr in exprs:
        for sel in scan.selectors(expr):
            if sel.name in recorded or sel.name in checks.BUILTIN_SERIES:
                continue
            assert sel.name in exposed, f"{sel.name} (in {expr}) is not in the exposition"
            for label, _op, value in sel.matchers:
                if label not in ("job", "instance"):  # added by Prometheus at scrape
                    assert label in exposed[sel.name], f"{sel.name} has no label {label}"
                if label == "le":
                    wanted = values[value[1:]] if value.startswith("$") else [value]
                    assert set(wanted) <= le_values[sel.name], (sel.name, wanted)


def test_all_queries_substitutes_every_variable() -> None:
    queries = generate.all_queries(generate.PARSE_SUBSTITUTIONS)
    assert {uid for uid, _, _ in queries} == {"otelagents-overview", "otelagents-token-latency"}
    assert len(queries) > 60
    assert not [expr for _, _, expr in queries if "$" in expr]
    assert all(isinstance(title, str) and title for _, title, _ in queries)
    with pytest.raises(KeyError, match=r"\$__rate_interval"):
        generate.all_queries({})


# --- 2. dashboard-linter rules ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", dashboard_files())
def test_dashboard_passes_every_lint_rule(name: str) -> None:
    assert lint.lint(load(name)) == []


def _panel(title: str) -> Json:
    return copy.deepcopy(next(p for p in load("otelagents-overview.json")["panels"] if p["title"] == title))


def _set_expr(panel: Json, change: Callable[[str], str]) -> Json:
    panel["targets"][0]["expr"] = change(panel["targets"][0]["expr"])
    return panel


def _drop(field: str) -> Callable[[Json], Json]:
    def mutate(panel: Json) -> Json:
        del panel[field]
        return panel
    return mutate


PANEL_BREAKS: list[tuple[lint.PanelRule, str, Callable[[Json], Json]]] = [
    (lint.panel_datasource_rule, "Model error ratio", lambda p: {**p, "datasource": {"type": "prometheus",
                                                                                   "uid": "prom-1"}}),
    (lint.panel_title_description_rule, "Model error ratio", _drop("description")),
    (lint.panel_title_description_rule, "Model error ratio", lambda p: {**p, "title": " "}),
    (lint.panel_title_description_rule, "Model error ratio", lambda p: {**p, "description": "Errors."}),
    (lint.panel_title_description_rule, "Model error ratio",
     lambda p: {**p, "description": "Errors. Metric: `otelagents_errors_total`"}),
    (lint.panel_units_rule, "Model error ratio",
     lambda p: {**p, "fieldConfig": {"defaults": {"unit": "seconds"}}}),
    (lint.panel_no_targets_rule, "Model error ratio", lambda p: {**p, "targets": []}),
    (lint.target_rate_interval_rule, "Model error ratio",
     lambda p: _set_expr(p, lambda e: e.replace("$__rate_interval", "5m"))),
    (lint.target_job_instance_rule, "Model error ratio",
     lambda p: _set_expr(p, lambda e: e.replace('instance=~"$instance", ', "", 1))),
    (lint.target_job_instance_rule, "Model error ratio",
     lambda p: _set_expr(p, lambda e: e.replace('job=~"$job"', 'job=~".+"', 1))),
    (lint.target_counter_agg_rule, "Stalls/s by model",
     lambda p: _set_expr(p, lambda e: e.replace("rate(", "(").replace("[$__rate_interval]", ""))),
    (lint.target_scope_rule, "Model error ratio",
     lambda p: _set_expr(p, lambda e: e.replace(', gen_ai_agent_name=~"$agent"', "", 1))),
]


@pytest.mark.parametrize(("rule", "title", "mutate"), PANEL_BREAKS,
                         ids=[f"{r.__name__}-{i}" for i, (r, _, _) in enumerate(PANEL_BREAKS)])
def test_panel_rule_fails_on_a_broken_panel(rule: lint.PanelRule, title: str,
                                            mutate: Callable[[Json], Json]) -> None:
    variables = frozenset({"datasource", "job", "instance", "agent", "model"})
    assert rule(_panel(title), variables) == []
    assert rule(mutate(_panel(title)), variables), f"{rule.__name__} did not notice the break"


def _variable(dashboard: Json, name: str) -> Json:
    return next(v for v in dashboard["templating"]["list"] if v["name"] == name)


def _remove_variable(dashboard: Json, name: str) -> Json:
    dashboard["templating"]["list"].remove(_variable(dashboard, name))
    return dashboard


DASHBOARD_BREAKS: list[tuple[lint.DashboardRule, Callable[[Json], Any]]] = [
    (lint.template_datasource_rule, lambda d: _variable(d, "datasource").update(name="ds")),
    (lint.template_datasource_rule,
     lambda d: d["templating"]["list"].append({**_variable(d, "datasource"), "name": "datasource2"})),
    (lint.template_job_instance_rule, lambda d: _variable(d, "job").update(allValue=".*")),
    (lint.template_job_instance_rule, lambda d: _variable(d, "instance").update(multi=False)),
    (lint.template_job_instance_rule, lambda d: _remove_variable(d, "instance")),
    (lint.template_job_instance_rule,
     lambda d: _variable(d, "job").update(datasource={"type": "prometheus", "uid": "prom-1"})),
    (lint.template_query_rule, lambda d: _variable(d, "agent").update(refresh=1)),
    (lint.template_query_rule, lambda d: _variable(d, "model").update(definition="query_result(up)")),
    (lint.uneditable_dashboard_rule, lambda d: d.pop("editable")),
    (lint.uneditable_dashboard_rule, lambda d: d.update(editable=True)),
]


@pytest.mark.parametrize(("rule", "mutate"), DASHBOARD_BREAKS,
                         ids=[f"{r.__name__}-{i}" for i, (r, _) in enumerate(DASHBOARD_BREAKS)])
def test_dashboard_rule_fails_on_a_broken_dashboard(rule: lint.DashboardRule, mutate: Callable[[Json], Any]) -> None:
    dashboard = load("otelagents-overview.json")
    assert rule(dashboard) == []
    mutate(dashboard)
    assert rule(dashboard), f"{rule.__name__} did not notice the break"


@pytest.mark.parametrize("name", dashboard_files())
def test_dashboard_meta_layout_and_exemplars(name: str) -> None:
    d = load(name)
    assert (d["id"], d["editable"], d["schemaVersion"], d["graphTooltip"]) == (None, False, 39, 1)
    assert d["uid"] == Path(name).stem and d["tags"] == ["otelagents"]
    assert d["links"][0]["tags"] == ["otelagents"] and d["links"][0]["includeVars"]
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for p in d["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, f"{p['title']} overlaps another panel"
        cells |= mine
        if p["type"] == "timeseries" and p["fieldConfig"]["defaults"]["unit"] == "s":
            assert all(t["exemplar"] for t in p["targets"]), f"{p['title']}: latency targets want exemplars"
        if p["type"] == "heatmap":
            assert p["options"]["calculate"] is False and p["targets"][0]["format"] == "heatmap"


def test_variables_chain_and_slo_values_are_bound_strings() -> None:
    overview, tokens = load("otelagents-overview.json"), load("otelagents-token-latency.json")
    names = [v["name"] for v in overview["templating"]["list"]]
    assert names == ["datasource", "traces_datasource", "job", "instance", "agent", "model"]
    assert _variable(overview, "traces_datasource")["query"] == "tempo"
    assert '$job' in _variable(overview, "instance")["definition"]
    assert '$agent' in _variable(overview, "model")["definition"]
    for name in ("agent", "model"):
        var = _variable(overview, name)
        assert (var["multi"], var["includeAll"], var["refresh"], var["sort"]) == (True, True, 2, 1)
    model = _variable(tokens, "model")
    assert model["multi"] is False and model["includeAll"] is False
    ttft = semconv.METRICS_BY_NAME[semconv.METRIC_TIME_TO_FIRST_TOKEN]
    slo = _variable(tokens, "ttft_slo")
    assert slo["current"]["value"] in [o["value"] for o in slo["options"]]
    assert {o["value"] for o in slo["options"]} <= set(promql.bound_strings(ttft))


# --- 3. every query parses (promtool) -----------------------------------------------------------------
def _check_exprs(promtool: str, exprs: list[tuple[str, str]], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    rules = [{"record": re.sub(r"[^a-zA-Z0-9_:]", "_", f"dash:{name}"), "expr": expr} for name, expr in exprs]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    return run(promtool, "check", "rules", str(path))


def test_every_panel_and_variable_query_parses(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    subs = generate.PARSE_SUBSTITUTIONS
    exprs = [(f"{uid}:{i}", expr) for i, (uid, _, expr) in enumerate(generate.all_queries(subs))]
    for d in map(load, dashboard_files()):
        exprs += [(f"{d['uid']}:var_{name}", checks.substitute(sel, subs))
                  for name, sel in checks.variable_selectors(d)]
    result = _check_exprs(promtool, exprs, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = _check_exprs(promtool, [("broken", exprs[0][1] + ")")], tmp_path)
    assert broken.returncode == 1 and "parse error" in broken.stderr


# --- 4. alert rules -------------------------------------------------------------------------------------
def test_alert_rules_pass_promtool_check() -> None:
    result = run(require_binary("promtool"), "check", "rules", "--lint-fatal", str(DASHBOARDS / generate.ALERTS_FILE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_alert_unit_tests_pass_and_can_fail(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    result = run(promtool, "test", "rules", str(DASHBOARDS / generate.ALERTS_TEST_FILE))
    assert result.returncode == 0, result.stdout + result.stderr
    shutil.copy(DASHBOARDS / generate.ALERTS_FILE, tmp_path)
    tests = (DASHBOARDS / generate.ALERTS_TEST_FILE).read_text().replace("value: 3.0\n", "value: 3.01\n")
    (tmp_path / "t.yml").write_text(tests)
    wrong = run(promtool, "test", "rules", str(tmp_path / "t.yml"))
    assert wrong.returncode == 1 and "3.01" in wrong.stdout + wrong.stderr


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    rules = load(generate.ALERTS_FILE)
    tests = load(generate.ALERTS_TEST_FILE)
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    assert len(alerts) >= 6
    for rule in alerts:
        assert rule["labels"]["severity"] in ("warning", "critical") and rule["for"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        final = [c for t in tests["tests"] for c in t["alert_rule_test"]
                 if c["alertname"] == rule["alert"] and c["eval_time"] == "20m"]
        assert any(c["exp_alerts"] for c in final), f"{rule['alert']}: no firing case"
        assert any(not c["exp_alerts"] for c in final), f"{rule['alert']}: no quiet case"
    for rule in (r for g in rules["groups"] for r in g["rules"] if "record" in r):
        assert re.fullmatch(r"[a-z_]+:[a-z_]+:[a-z0-9_]+", rule["record"]), rule["record"]


# --- 5. provisioning and configs -------------------------------------------------------------------------
def test_prometheus_config_is_valid_and_scrapes_the_exporter_port() -> None:
    result = run(require_binary("promtool"), "check", "config", str(DASHBOARDS / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    config = load("prometheus.yml")
    assert config["rule_files"] == [generate.ALERTS_FILE, generate.LATEST_NAMES_FILE]
    port = inspect.signature(MetricsServer.__init__).parameters["port"].default
    assert config["scrape_configs"][0]["static_configs"][0]["targets"] == [f"127.0.0.1:{port}"]


def test_grafana_datasources_link_exemplars_to_tempo() -> None:
    sources = {s["uid"]: s for s in load("provisioning/datasources/otelagents.yaml")["datasources"]}
    prometheus = next(s for s in sources.values() if s["type"] == "prometheus")
    assert prometheus["jsonData"]["timeInterval"] == load("prometheus.yml")["global"]["scrape_interval"]
    (destination,) = prometheus["jsonData"]["exemplarTraceIdDestinations"]
    assert destination["name"] == "trace_id"
    assert sources[destination["datasourceUid"]]["type"] == "tempo"


def test_grafana_dashboard_provider_loads_the_generated_dashboards() -> None:
    (provider,) = load("provisioning/dashboards/otelagents.yaml")["providers"]
    assert provider["type"] == "file" and provider["allowUiUpdates"] is False
    assert provider["options"]["path"] == provisioning.GRAFANA_DASHBOARDS_PATH
    assert provisioning.GRAFANA_DASHBOARDS_PATH in (DASHBOARDS / "README.md").read_text()
    uids = [load(name)["uid"] for name in dashboard_files()]
    assert sorted(uids) == sorted(d["uid"] for d in generate.dashboards())
    assert [f"{uid}.json" for uid in uids] == dashboard_files()


def test_collector_pipelines_use_defined_components() -> None:
    config = load("otel-collector.yaml")
    pipelines = config["service"]["pipelines"]
    for pipeline in pipelines.values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline.get(kind, [])) <= set(config.get(kind, {})), pipeline
    exporter = config["exporters"]["prometheus"]
    assert exporter["enable_open_metrics"] is True
    assert exporter["resource_to_telemetry_conversion"]["enabled"] is True
    assert all(e.split("/")[0] in ("otlp", "otlphttp") for e in pipelines["traces"]["exporters"])
    assert "otlp" in pipelines["metrics"]["receivers"] and "otlp" in pipelines["traces"]["receivers"]
