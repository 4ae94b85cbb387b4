"""Telemetry on by default: an application that configures OpenTelemetry and never calls otelagents.

Globals matter here (the global providers, the telemetry slot, the environment), so each scenario runs
``tests/default_telemetry_app.py`` in a fresh process: real global SDK providers, the real ``openai``
client over SSE against the test server, an in-memory span exporter and metric reader.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from otelagents.telemetry import semconv as sc

ROOT = pathlib.Path(__file__).resolve().parent.parent
APP = ROOT / "tests" / "default_telemetry_app.py"

# "chat <model>" spans are shown as "chat": the default model is not what these tests are about.
RUN_SPANS = ["chat", "chat", "chat", "execute_tool lookup", "execute_tool transfer_to_billing",
             "invoke_agent billing", "invoke_agent triage", "invoke_workflow Agent workflow"]
# What the workload (a tool call, a handoff, a text answer; no stall, no error) produces.
WORKLOAD_METRICS = {
    sc.METRIC_OPERATION_DURATION, sc.METRIC_TOKEN_USAGE, sc.METRIC_TIME_TO_FIRST_CHUNK, sc.METRIC_TIME_TO_FIRST_TOKEN,
    sc.METRIC_TIME_PER_OUTPUT_CHUNK, sc.METRIC_OUTPUT_TOKENS_PER_SECOND, sc.METRIC_INVOKE_AGENT_DURATION,
    sc.METRIC_EXECUTE_TOOL_DURATION, sc.METRIC_INVOKE_WORKFLOW_DURATION, sc.METRIC_HANDOFFS, sc.METRIC_INFO,
}
_CLEAN_ENV = ("OTEL_SDK_DISABLED", "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "OTEL_EXPORTER_OTLP_ENDPOINT",
              "OTEL_SEMCONV_STABILITY_OPT_IN", "OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER")


def run_app(env: dict[str, str] | None = None, **options: Any) -> dict[str, Any]:
    base = {k: v for k, v in os.environ.items() if k not in _CLEAN_ENV and k != "PYTEST_CURRENT_TEST"}
    base["OTELAGENTS_STRICT_OBSERVERS"] = "1"  # an observer bug fails the app, as it would fail a test
    done = subprocess.run([sys.executable, str(APP), json.dumps(options)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**base, "PYTHONPATH": str(ROOT), **(env or {})}, check=False)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def traces(report: dict[str, Any]) -> list[list[str]]:
    by_trace: dict[int, list[str]] = {}
    for span in report.get("spans", []):
        name = "chat" if span["name"].startswith("chat ") else span["name"]
        by_trace.setdefault(span["trace_id"], []).append(name)
    return [sorted(names) for names in by_trace.values()]


def points(report: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [p for metric in report["metrics"].get(name, []) for p in metric["points"]]


def total_count(report: dict[str, Any], name: str) -> int:
    return sum(p["count"] for p in points(report, name))


def test_app_with_global_sdk_providers_gets_every_span_and_metric_without_calling_otelagents() -> None:
    report = run_app(providers="sdk", runs=2)
    assert report["outputs"] == ["All done here, thanks"] * 2
    assert traces(report) == [RUN_SPANS, RUN_SPANS]
    assert {s["scope"] for s in report["spans"]} == {"otelagents"}
    assert report["scopes"] == ["otelagents"]
    assert WORKLOAD_METRICS <= set(report["metrics"])
    for name, metrics in report["metrics"].items():
        spec = sc.METRICS_BY_NAME[name]
        assert [m["unit"] for m in metrics] == [spec.unit]
        for point in metrics[0]["points"]:
            assert set(point["attributes"]) <= set(spec.attributes)
            if spec.kind == "histogram":
                assert point["bounds"] == [float(b) for b in spec.buckets]
                assert sum(point["buckets"]) == point["count"] > 0
    assert total_count(report, sc.METRIC_INVOKE_WORKFLOW_DURATION) == 2
    assert total_count(report, sc.METRIC_OPERATION_DURATION) == 6
    assert sum(p["value"] for p in points(report, sc.METRIC_HANDOFFS)) == 2
    assert all(p["exemplars"] > 0 for p in points(report, sc.METRIC_TIME_TO_FIRST_CHUNK))
    assert report["active"] is True


def test_tracer_provider_alone_gets_spans() -> None:
    report = run_app(providers="tracer", runs=1)
    assert traces(report) == [RUN_SPANS]


def test_with_no_sdk_configured_runs_work_and_nothing_is_observed() -> None:
    report = run_app(providers="none", runs=2)
    assert report["outputs"] == ["All done here, thanks"] * 2
    assert "spans" not in report and report["active"] is False


OPT_OUTS = {
    "run_config": ({}, {"run_config": {"tracing_disabled": True}}),
    "OTEL_SDK_DISABLED": ({"OTEL_SDK_DISABLED": "true"}, {}),
    "disabled_instrumentations": ({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "flask, otelagents"}, {}),
    "disable()": ({}, {"call": "disable"}),
    "uninstrument()": ({}, {"call": "uninstrument"}),
}


@pytest.mark.parametrize("way", list(OPT_OUTS))
def test_each_opt_out_turns_the_default_off(way: str) -> None:
    env, options = OPT_OUTS[way]
    report = run_app(env=env, providers="sdk", runs=1, **options)
    assert report["outputs"] == ["All done here, thanks"]
    assert report["spans"] == [] and "otelagents" not in report["scopes"]
    assert report["active"] is (way == "run_config")  # per run only: the process-wide default stays on


def test_other_disabled_instrumentations_leave_the_default_on() -> None:
    report = run_app(env={"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "flask,otelagents_agents_sdk"}, providers="sdk")
    assert traces(report) == [RUN_SPANS]


@pytest.mark.parametrize("call", ["instrument", "setup", "instrumentor", "add_run_observer"])
@pytest.mark.parametrize("after_first_run", [False, True])
def test_explicit_telemetry_replaces_the_default_one_trace_per_run_metrics_once(call: str,
                                                                               after_first_run: bool) -> None:
    report = run_app(providers="sdk", runs=2, call=call, call_after_first_run=after_first_run)
    assert traces(report) == [RUN_SPANS, RUN_SPANS]
    assert total_count(report, sc.METRIC_INVOKE_WORKFLOW_DURATION) == 2
    assert sum(p["value"] for p in points(report, sc.METRIC_HANDOFFS)) == 2


def test_instrument_before_the_application_sets_its_providers_follows_them() -> None:
    report = run_app(providers="sdk", runs=2, instrument_first=True)
    assert traces(report) == [RUN_SPANS, RUN_SPANS]
    assert total_count(report, sc.METRIC_INVOKE_WORKFLOW_DURATION) == 2


def test_a_run_with_its_own_telemetry_is_not_also_traced_by_the_default() -> None:
    report = run_app(providers="sdk", runs=2, own_telemetry=True)
    assert traces(report) == [RUN_SPANS, RUN_SPANS]  # the run's Telemetry, through the global tracer provider
    assert sc.METRIC_INVOKE_WORKFLOW_DURATION not in report["metrics"]  # it records into its own engine


def test_delta_reader_gets_each_collection_s_increments() -> None:
    report = run_app(providers="sdk", runs=2, delta=True, collect_each_run=True)
    for collection in report["collections"]:
        (workflow,) = collection[sc.METRIC_INVOKE_WORKFLOW_DURATION]
        assert workflow["temporality"] == "DELTA"
        assert [p["count"] for p in workflow["points"]] == [1]
        (handoffs,) = collection[sc.METRIC_HANDOFFS]
        assert [p["value"] for p in handoffs["points"]] == [1]
    assert len(report["collections"]) == 2
    # Nothing new since: only the gauges report again (their current value; no stream is open now).
    assert sc.METRIC_INFO in report["metrics"]
    assert set(report["metrics"]) <= {sc.METRIC_INFO, sc.METRIC_STREAMS_OPEN, sc.METRIC_STREAMS_STALLED}
    for name in (sc.METRIC_STREAMS_OPEN, sc.METRIC_STREAMS_STALLED):
        assert all(p["value"] == 0 for m in report["metrics"].get(name, []) for p in m["points"])


def prom_sample(family: Any, name: str, labels: dict[str, str], le: str | None = None) -> float:
    want = {**labels, "le": le} if le is not None else labels
    (value,) = [s.value for s in family.samples if s.name == name and s.labels == want]
    return float(value)


def test_application_provider_and_metrics_endpoint_report_identical_values() -> None:
    report = run_app(providers="sdk", runs=2, prometheus=True)
    families = {f.name: f for f in text_string_to_metric_families(report["prometheus"])}
    compared = 0
    for name, metrics in report["metrics"].items():
        spec = sc.METRICS_BY_NAME[name]
        if spec.kind != "histogram":
            continue
        family, base = families[spec.prometheus_name], spec.prometheus_name
        les = {float(s.labels["le"]): s.labels["le"] for s in family.samples if "le" in s.labels}
        for point in metrics[0]["points"]:
            labels = {sc.prometheus_label(k): str(v) for k, v in point["attributes"].items()}
            assert prom_sample(family, base + "_count", labels) == point["count"]
            assert prom_sample(family, base + "_sum", labels) == pytest.approx(point["sum"], rel=1e-12, abs=1e-12)
            cumulative = 0
            for bound, count in zip(point["bounds"], point["buckets"], strict=False):
                cumulative += count
                assert prom_sample(family, base + "_bucket", labels, les[bound]) == cumulative
            assert prom_sample(family, base + "_bucket", labels, "+Inf") == point["count"]
            compared += 1
    assert compared >= 10


# --- a run is observed once per observer object, whatever the path (in process) ----------------------------

def test_the_same_observer_registered_globally_and_per_run_observes_once() -> None:
    from otelagents import Agent, Runner, add_run_observer, remove_run_observer
    from otelagents.testing import ScriptedModel
    from tests.telemetry_helpers import make_rig

    rig = make_rig()
    add_run_observer(rig.telemetry)
    try:
        Runner.run_sync(Agent("once", model=ScriptedModel(["hi there"])), "go", run_config=rig.config())
    finally:
        remove_run_observer(rig.telemetry)
    assert len({s.context.trace_id for s in rig.spans()}) == 1
    assert sorted(s.name for s in rig.spans()) == [
        "chat scripted-model", "invoke_agent once", "invoke_workflow Agent workflow"]
    workflow = [s for s in rig.engine.collect() if s.name == sc.METRIC_INVOKE_WORKFLOW_DURATION][0]
    assert [p.count for p in workflow.points] == [1]  # type: ignore[union-attr]


def test_the_installed_telemetry_also_passed_per_run_observes_once() -> None:
    from otelagents import Agent, Runner
    from otelagents.telemetry._observer import install, uninstrument
    from otelagents.testing import ScriptedModel
    from tests.telemetry_helpers import make_rig

    rig = make_rig()
    install(rig.telemetry)
    try:
        Runner.run_sync(Agent("once", model=ScriptedModel(["hi there"])), "go", run_config=rig.config())
    finally:
        uninstrument(rig.telemetry)
    assert len(rig.spans()) == 3 and len({s.context.trace_id for s in rig.spans()}) == 1


def test_runs_work_when_opentelemetry_cannot_be_imported() -> None:
    code = ("import sys; sys.modules['opentelemetry'] = None\n"
            "from otelagents import Agent, Runner\nfrom otelagents.testing import ScriptedModel\n"
            "print(Runner.run_sync(Agent('x', model=ScriptedModel(['hi there'])), 'go').final_output)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**env, "PYTHONPATH": str(ROOT)}, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hi there"
    assert "default telemetry could not be loaded" in done.stderr and "runs are not traced" in done.stderr
