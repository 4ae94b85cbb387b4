"""/metrics over real HTTP, promtool's lint, and a real Prometheus scraping values and exemplars."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import prometheus_client
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from otelagents.telemetry import semconv
from otelagents.telemetry._metrics import (
    Exemplar,
    MetricsEngine,
    MetricsPortInUseError,
    MetricsServer,
    le_label,
)
from otelagents.testing.prometheus import PrometheusQueryError, PrometheusServer
from tests.conftest import require_binary

GAP = semconv.METRIC_TIME_PER_OUTPUT_CHUNK
GAP_PROM = "gen_ai_client_operation_time_per_output_chunk_seconds"
ATTRS = {semconv.GEN_AI_OPERATION_NAME: "chat", semconv.GEN_AI_PROVIDER_NAME: "openai",
         semconv.GEN_AI_REQUEST_MODEL: "m1"}
LABELS = {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai", "gen_ai_request_model": "m1"}
TRACE_ID, SPAN_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7
OPENMETRICS = {"Accept": "application/openmetrics-text; version=1.0.0; charset=utf-8"}


def fill(engine: MetricsEngine) -> None:
    engine.histogram(GAP).bind(ATTRS).record_many([0.0004, 0.001, 0.004, 0.004, 0.3],
                                                  Exemplar(TRACE_ID, SPAN_ID))
    engine.histogram(semconv.METRIC_TOKEN_USAGE).record(300, {semconv.GEN_AI_TOKEN_TYPE: "output"})
    engine.counter(semconv.METRIC_ERRORS).add(2, {semconv.ERROR_TYPE: "timeout"}, Exemplar(TRACE_ID, 7))
    engine.gauge(semconv.METRIC_INFO).set(1, {"version": "0.1.0"})


@pytest.fixture
def server() -> Iterator[MetricsServer]:
    engine = MetricsEngine()
    fill(engine)
    with MetricsServer(engine, port=0) as srv:
        yield srv


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value for f in parse_text(text) for s in f.samples}


def test_classic_text_carries_names_labels_and_values(server: MetricsServer) -> None:
    response = httpx.get(server.url, timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert " # {" not in response.text  # the classic format has no exemplars
    got = samples(response.text)

    def bucket(le: str) -> float:
        return got[(GAP_PROM + "_bucket", frozenset({**LABELS, "le": le}.items()))]

    assert [bucket(le) for le in ("0.0005", "0.001", "0.002", "0.005", "0.2", "0.5", "+Inf")] == [
        1, 2, 2, 4, 4, 5, 5]
    assert got[(GAP_PROM + "_count", frozenset(LABELS.items()))] == 5
    assert got[(GAP_PROM + "_sum", frozenset(LABELS.items()))] == pytest.approx(0.3094)
    assert got[("gen_ai_client_token_usage_bucket", frozenset({"gen_ai_token_type": "output", "le": "1024.0"}
                                                               .items()))] == 1
    assert got[("otelagents_errors_total", frozenset({"error_type": "timeout"}.items()))] == 2
    assert got[("otelagents_info", frozenset({"version": "0.1.0"}.items()))] == 1
    families = {f.name: f for f in parse_text(response.text)}
    assert families[GAP_PROM].documentation == semconv.METRICS_BY_NAME[GAP].description
    assert families[GAP_PROM].type == "histogram" and families["otelagents_errors"].type == "counter"
    assert "gen_ai_client_operation_duration_seconds" not in families  # no series yet


def test_openmetrics_carries_exemplars(server: MetricsServer) -> None:
    response = httpx.get(server.url, headers=OPENMETRICS, timeout=5)
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")
    exemplars = {(s.name, s.labels.get("le")): s.exemplar
                 for f in parse_openmetrics(response.text) for s in f.samples if s.exemplar}
    le = le_label(min(b for b in semconv.CHUNK_GAP_BUCKETS if b >= 0.3))
    assert le == "0.3242"
    gap = exemplars[(GAP_PROM + "_bucket", le)]  # the bucket of the batch's largest value, 0.3
    assert gap.labels == {"trace_id": f"{TRACE_ID:032x}", "span_id": f"{SPAN_ID:016x}"}
    assert gap.value == 0.3 and abs(float(gap.timestamp) - time.time()) < 60
    assert exemplars[("otelagents_errors_total", None)].labels["span_id"] == f"{7:016x}"
    assert len(exemplars) == 2


def test_promtool_lints_the_classic_text_clean(server: MetricsServer) -> None:
    promtool = require_binary("promtool")
    text = httpx.get(server.url, timeout=5).content
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, timeout=30,
                            check=False)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def test_le_strings_match_prometheus_client() -> None:
    assert [le_label(b) for b in (0.0005, 1, 1.0, 5.0, 81.92, 1048576)] == [
        "0.0005", "1.0", "1.0", "5.0", "81.92", "1.048576e+06"]


def test_overflow_series_renders_as_a_true_label() -> None:
    engine = MetricsEngine(max_series_per_metric=1)
    for model in ("a", "b"):
        engine.histogram(GAP).record(0.01, {semconv.GEN_AI_REQUEST_MODEL: model})
    with MetricsServer(engine, port=0) as srv:
        got = samples(httpx.get(srv.url, timeout=5).text)
    assert got[(GAP_PROM + "_count", frozenset({"otel_metric_overflow": "true"}.items()))] == 1


def test_server_uses_its_own_registry_and_closes_idempotently() -> None:
    engine = MetricsEngine()
    fill(engine)
    srv = MetricsServer(engine, port=0).start()
    assert srv.url == f"http://127.0.0.1:{srv.port}/metrics" and srv.port != 0
    assert prometheus_client.REGISTRY.get_sample_value("otelagents_errors_total", {"error_type": "timeout"}) is None
    assert srv.registry.get_sample_value("otelagents_errors_total", {"error_type": "timeout"}) == 2
    started = time.monotonic()
    srv.close()
    srv.close()
    assert time.monotonic() - started < 2
    with pytest.raises(httpx.ConnectError):
        httpx.get(srv.url, timeout=2)


def test_port_in_use_raises_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(MetricsPortInUseError, match=f"127.0.0.1:{port}.*already in use.*another port") as info:
            MetricsServer(MetricsEngine(), port=port).start()
    assert isinstance(info.value, OSError) and info.value.port == port


def test_real_prometheus_scrapes_values_and_exemplars(server: MetricsServer) -> None:
    binary = require_binary("prometheus")
    started = time.time()
    with PrometheusServer([f"127.0.0.1:{server.port}"], scrape_interval_s=0.5, binary=binary) as prom:
        prom.wait_for_scrapes(2)
        buckets = prom.query(f'{GAP_PROM}_bucket{{le=~"0.005|0.5|\\\\+Inf"}}')
        by_le = {r["metric"]["le"]: float(r["value"][1]) for r in buckets}
        assert by_le == {"0.005": 4, "0.5": 5, "+Inf": 5}
        assert {k: buckets[0]["metric"][k] for k in LABELS} == LABELS
        assert buckets[0]["metric"]["job"] == "otelagents"
        (errors,) = prom.query("otelagents_errors_total")
        assert float(errors["value"][1]) == 2
        p50 = prom.query(f"histogram_quantile(0.5, sum by (le) ({GAP_PROM}_bucket))")
        assert 0.003 < float(p50[0]["value"][1]) <= 0.005
        exemplars = prom.query_exemplars(f"{GAP_PROM}_bucket", started - 60, time.time() + 60)
        trace_ids = {e["labels"]["trace_id"] for series in exemplars for e in series["exemplars"]}
        assert trace_ids == {f"{TRACE_ID:032x}"}
        with pytest.raises(PrometheusQueryError, match="parse error"):
            prom.query("sum(")
    assert prom._dir is None  # the temporary directory is gone
