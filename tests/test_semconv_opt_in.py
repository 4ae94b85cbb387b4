"""``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``: the newest GenAI metric names at every edge.

Today's names stay the default. Opted in, ``/metrics``, the OTLP push and an application's MeterProvider
(in a fresh process, below) show the renamed metrics and the token-usage split, with the same values.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics.export import Histogram as SDKHistogram
from opentelemetry.sdk.metrics.export import Sum
from prometheus_client import CollectorRegistry, generate_latest

from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import MetricsEngine, PrometheusCollector, to_metrics_data
from otelagents.telemetry._metrics.semconv_opt_in import RENAMES, TOKEN_METRICS, apply_opt_in, latest_requested
from tests.test_telemetry_default import ROOT, run_app, total_count

MODEL = {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_REQUEST_MODEL: "m"}


def recorded() -> MetricsEngine:
    engine = MetricsEngine()
    engine.histogram(sc.METRIC_OPERATION_DURATION).record(0.3, MODEL)
    engine.histogram(sc.METRIC_TIME_TO_FIRST_CHUNK).record(0.05, MODEL)
    engine.histogram(sc.METRIC_TIME_PER_OUTPUT_CHUNK).bind(MODEL).record_many([0.002, 0.004, 0.03])
    usage = engine.histogram(sc.METRIC_TOKEN_USAGE)
    usage.record(120, {**MODEL, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_INPUT})
    usage.record(30, {**MODEL, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_INPUT})
    usage.record(7, {**MODEL, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT})
    engine.counter(sc.METRIC_HANDOFFS).add(2, {})
    return engine


@pytest.mark.parametrize(("value", "expected"), [
    ("", False), ("gen_ai_latest_experimental", True), ("http, gen_ai_latest_experimental", True),
    ("gen_ai", False), ("database", False)])
def test_the_opt_in_is_read_as_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch, value: str,
                                                      expected: bool) -> None:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", value)
    assert latest_requested() is expected


def test_default_keeps_today_s_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SEMCONV_STABILITY_OPT_IN", raising=False)
    snapshots = recorded().collect()
    assert apply_opt_in(snapshots) == snapshots


def test_latest_renames_and_splits_token_usage_with_the_same_values() -> None:
    engine = recorded()
    snapshots = engine.collect()
    before = {s.name: s for s in snapshots}
    after = {s.name: s for s in apply_opt_in(snapshots, latest=True)}
    assert not set(RENAMES) & set(after) and sc.METRIC_TOKEN_USAGE not in after
    for old, new in RENAMES.items():
        assert after[new].points == before[old].points and after[new].spec.buckets == before[old].spec.buckets
    assert after[sc.METRIC_HANDOFFS] == before[sc.METRIC_HANDOFFS]
    input_histogram, input_counter = TOKEN_METRICS[sc.TOKEN_TYPE_INPUT]
    output_histogram, output_counter = TOKEN_METRICS[sc.TOKEN_TYPE_OUTPUT]
    (point,) = after[input_histogram].points
    assert (point.count, point.sum, dict(point.attributes)) == (2, 150, MODEL)  # type: ignore[union-attr]
    assert [(p.value, dict(p.attributes)) for p in after[input_counter].points] == [  # type: ignore[union-attr]
        (150, {**MODEL, "gen_ai.token.modality": "unknown"})]
    assert [p.value for p in after[output_counter].points] == [7]  # type: ignore[union-attr]
    assert after[output_counter].spec.kind == "counter" and after[output_histogram].spec.kind == "histogram"


def test_metrics_endpoint_and_otlp_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = recorded()
    registry = CollectorRegistry()
    registry.register(PrometheusCollector(engine))
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    text = generate_latest(registry).decode()
    assert "gen_ai_client_inference_duration_seconds_count" in text
    assert "gen_ai_client_operation_duration_seconds" not in text
    assert 'gen_ai_client_inference_usage_input_tokens_total{gen_ai_operation_name="chat"' in text
    assert "gen_ai_client_inference_operation_output_tokens_bucket" in text
    metrics = {m.name: m for m in to_metrics_data(engine.collect()).resource_metrics[0].scope_metrics[0].metrics}
    assert isinstance(metrics["gen_ai.client.inference.usage.output_tokens"].data, Sum)
    assert isinstance(metrics["gen_ai.client.inference.time_per_output_chunk"].data, SDKHistogram)
    monkeypatch.delenv("OTEL_SEMCONV_STABILITY_OPT_IN")
    assert "gen_ai_client_operation_duration_seconds_count" in generate_latest(registry).decode()


def test_application_provider_gets_the_newest_names_when_opted_in() -> None:
    report = run_app(env={"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental"}, providers="sdk", runs=2)
    names = set(report["metrics"])
    assert not names & (set(RENAMES) | {sc.METRIC_TOKEN_USAGE})
    assert total_count(report, "gen_ai.client.inference.duration") == 6
    assert total_count(report, sc.METRIC_INVOKE_WORKFLOW_DURATION) == 2
    assert {name for pair in TOKEN_METRICS.values() for name in pair} <= names


# --- dashboards and alerts read either naming ---------------------------------------------------------------

def test_recording_rules_cover_every_rename_and_pass_promtool(tmp_path: Path) -> None:
    from dashboards import generate
    from dashboards._gen import semconv_latest
    from tests.conftest import require_binary

    promtool = require_binary("promtool")
    recorded = set(semconv_latest.sources())
    for old in RENAMES:
        assert {sc.METRICS_BY_NAME[old].prometheus_name + p for p in ("_bucket", "_sum", "_count")} <= recorded
    usage = sc.METRICS_BY_NAME[sc.METRIC_TOKEN_USAGE].prometheus_name
    assert [t for _, t in semconv_latest.sources()[usage + "_count"]] == list(TOKEN_METRICS)
    dashboards = ROOT / "dashboards"
    for name in (generate.LATEST_NAMES_FILE, generate.LATEST_NAMES_TEST_FILE):
        shutil.copy(dashboards / name, tmp_path)
    check = subprocess.run([promtool, "check", "rules", "--lint-fatal", Path(generate.LATEST_NAMES_FILE).name],
                           cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run([promtool, "test", "rules", Path(generate.LATEST_NAMES_TEST_FILE).name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert test.returncode == 0, test.stdout + test.stderr
    # The unit test can fail: a rule that drops the token type no longer gives the expected series.
    rules = (tmp_path / Path(generate.LATEST_NAMES_FILE).name)
    rules.write_text(rules.read_text().replace('"gen_ai_token_type", "output"', '"gen_ai_token_type", "input"'))
    broken = subprocess.run([promtool, "test", "rules", Path(generate.LATEST_NAMES_TEST_FILE).name],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert broken.returncode != 0
