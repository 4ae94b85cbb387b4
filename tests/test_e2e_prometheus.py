"""End to end: agents stream over real HTTP, telemetry serves ``/metrics``, a real Prometheus scrapes it.

One varied workload (``tests/e2e_workload.py``: both OpenAI APIs, tools, a handled tool error, a handoff,
stalls, a failed response and an HTTP 500) runs twice while Prometheus 2.42 scrapes every second; then the
series, bucket counts and exemplars Prometheus holds are compared with what the workload's script did and
with the spans the same runs exported.
"""

from __future__ import annotations

import math
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest

from otelagents import __version__
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import le_label
from otelagents.testing.prometheus import JOB_NAME
from tests.conftest import require_binary
from tests.e2e_workload import (
    STALL_THRESHOLD_S,
    TTFT_S,
    Scraped,
    chat_span_ids,
    chat_span_values,
    scraped_workload,
)


@pytest.fixture(scope="module")
def scraped() -> Iterator[Scraped]:
    with scraped_workload(require_binary("prometheus")) as result:
        yield result


def selector(scraped: Scraped, extra: str = "") -> str:
    """The label matchers of this run's target, plus ``extra``."""
    matchers = f'job="{JOB_NAME}", instance="{scraped.instance}"'
    return "{" + matchers + (", " + extra if extra else "") + "}"


def by(scraped: Scraped, promql: str, labels: Sequence[str]) -> dict[tuple[str, ...], float]:
    """An instant query at the evaluation time, as ``{(label values...): value}``."""
    result = scraped.prom.query(promql, time=scraped.eval_time)
    return {tuple(r["metric"].get(label, "") for label in labels): float(r["value"][1]) for r in result}


def as_floats(counter: Counter[Any]) -> dict[Any, float]:
    return {(k if isinstance(k, tuple) else (k,)): float(v) for k, v in counter.items() if v}


def test_every_model_call_is_counted_by_request_model(scraped: Scraped) -> None:
    expected = scraped.workload.expected
    assert expected.rounds == 2 and len(expected.calls) == 2
    calls = by(scraped, f"sum by (gen_ai_request_model) (gen_ai_client_operation_duration_seconds_count"
                        f"{selector(scraped)})", ["gen_ai_request_model"])
    assert calls == as_floats(expected.calls)
    failed_only = selector(scraped, 'error_type!=""')
    failed = by(scraped, f"sum by (gen_ai_request_model, error_type) (gen_ai_client_operation_duration_seconds_count"
                         f"{failed_only})", ["gen_ai_request_model", "error_type"])
    assert failed == as_floats(expected.failed_calls)
    info = by(scraped, f"otelagents_info{selector(scraped)}", ["version"])
    assert info == {(__version__,): 1.0}


def test_chunk_gaps_and_stalls_are_counted_exactly(scraped: Scraped) -> None:
    """Every gap between output deltas is counted; a stall is a gap above the threshold, which is a bucket bound.

    On an idle machine the stalls are exactly the scripted slow gaps; a starved client sees more (a late
    delta makes a long gap), so the stall count is checked against the gaps Prometheus holds above the
    threshold, and against the script only as a lower bound.
    """
    expected = scraped.workload.expected
    metric = "gen_ai_client_operation_time_per_output_chunk_seconds"
    gaps = by(scraped, f"sum by (gen_ai_request_model) ({metric}_count{selector(scraped)})", ["gen_ai_request_model"])
    assert gaps == as_floats(expected.chunk_gaps)
    threshold = le_label(STALL_THRESHOLD_S)
    assert threshold in {le_label(b) for b in sc.CHUNK_GAP_BUCKETS}
    up_to_threshold = selector(scraped, f'le="{threshold}"')
    within = by(scraped, f"sum by (gen_ai_request_model) ({metric}_bucket{up_to_threshold})", ["gen_ai_request_model"])
    stalls = by(scraped, f"sum by (gen_ai_request_model) (otelagents_client_stalls_total{selector(scraped)})",
                ["gen_ai_request_model"])
    assert stalls == {model: gaps[model] - within[model] for model in gaps}
    assert all(stalls[model] >= n for model, n in as_floats(expected.stalls).items()), (stalls, expected.stalls)


def test_token_usage_sums_equal_what_the_server_reported(scraped: Scraped) -> None:
    expected = scraped.workload.expected
    labels = ["gen_ai_request_model", "gen_ai_token_type"]
    sums = by(scraped, f"sum by (gen_ai_request_model, gen_ai_token_type) (gen_ai_client_token_usage_sum"
                       f"{selector(scraped)})", labels)
    assert sums == as_floats(expected.tokens)
    counts = by(scraped, f"sum by (gen_ai_request_model, gen_ai_token_type) (gen_ai_client_token_usage_count"
                         f"{selector(scraped)})", labels)
    assert counts == {(model, kind): float(n) for model, n in expected.token_calls.items()
                      for kind in (sc.TOKEN_TYPE_INPUT, sc.TOKEN_TYPE_OUTPUT)}


def test_errors_are_counted_by_operation_and_error_type(scraped: Scraped) -> None:
    errors = by(scraped, f"sum by (gen_ai_operation_name, error_type) (otelagents_errors_total{selector(scraped)})",
                ["gen_ai_operation_name", "error_type"])
    assert errors == as_floats(scraped.workload.expected.errors)
    assert {op for op, _ in errors} == {sc.OP_CHAT, sc.OP_EXECUTE_TOOL, sc.OP_INVOKE_AGENT, sc.OP_INVOKE_WORKFLOW}


def test_tools_handoffs_agents_and_runs_are_counted(scraped: Scraped) -> None:
    expected = scraped.workload.expected
    tools = by(scraped, f"sum by (gen_ai_tool_name, error_type) (gen_ai_execute_tool_duration_seconds_count"
                        f"{selector(scraped)})", ["gen_ai_tool_name", "error_type"])
    assert tools == as_floats(expected.tool_calls)
    handoffs = by(scraped, f"sum by (gen_ai_agent_handoff_source_name, gen_ai_agent_handoff_target_name) "
                           f"(otelagents_handoffs_total{selector(scraped)})",
                  ["gen_ai_agent_handoff_source_name", "gen_ai_agent_handoff_target_name"])
    assert handoffs == as_floats(expected.handoffs)
    segments = by(scraped, f"sum by (gen_ai_agent_name) (gen_ai_invoke_agent_duration_seconds_count"
                           f"{selector(scraped)})", ["gen_ai_agent_name"])
    assert segments == as_floats(expected.agent_segments)
    runs = by(scraped, f"sum by (error_type) (gen_ai_invoke_workflow_duration_seconds_count{selector(scraped)})",
              ["error_type"])
    assert runs == {("" if outcome == "ok" else outcome,): float(n) for outcome, n in expected.runs.items()}


def test_time_to_first_token_lands_in_the_buckets_of_the_servers_delay(scraped: Scraped) -> None:
    expected = scraped.workload.expected
    below = le_label(max(b for b in sc.TTFT_BUCKETS if b < TTFT_S))  # "0.3242"
    above = le_label(min(b for b in sc.TTFT_BUCKETS if b > TTFT_S))  # "0.3536"
    assert (below, above) == ("0.3242", "0.3536")
    chunk_below = le_label(max(b for b in sc.LATENCY_BUCKETS if b < TTFT_S))  # "0.32"
    metric = "otelagents_client_time_to_first_token_seconds"

    def per_model(promql: str) -> dict[tuple[str, ...], float]:
        return by(scraped, f"sum by (gen_ai_request_model) ({promql})", ["gen_ai_request_model"])

    at_or_below_above = selector(scraped, f'le="{above}"')
    at_or_below_below = selector(scraped, f'le="{below}"')
    with_output = as_floats(expected.calls_with_output)
    measured = chat_span_values(scraped.workload.spans(), sc.OTELAGENTS_TIME_TO_FIRST_TOKEN)
    assert {(m,): float(len(v)) for m, v in measured.items()} == with_output
    assert min(min(v) for v in measured.values()) > TTFT_S  # the server held every first delta back
    assert per_model(f"{metric}_count{selector(scraped)}") == with_output
    assert per_model(f"{metric}_bucket{at_or_below_below}") == {m: 0.0 for m in with_output}
    # All of them on an idle machine; the spans say which calls a starved client saw later.
    assert per_model(f"{metric}_bucket{at_or_below_above}") == {
        (m,): float(sum(t <= float(above) for t in v)) for m, v in measured.items()}
    # The first chunk (response.created, or Chat's role chunk) comes before the delay: on an idle machine
    # every stream that got any event is in the 0.32 s bucket of time to first chunk, where no first token is.
    streams = as_floats(expected.streams)
    first_chunk = "gen_ai_client_operation_time_to_first_chunk_seconds"
    assert per_model(f"{first_chunk}_count{selector(scraped)}") == streams
    first_chunks = chat_span_values(scraped.workload.spans(), sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)
    assert {(m,): float(len(v)) for m, v in first_chunks.items()} == streams
    chunk_at_or_below = selector(scraped, f'le="{chunk_below}"')
    assert per_model(f"{first_chunk}_bucket{chunk_at_or_below}") == {
        (m,): float(sum(t <= float(chunk_below) for t in v)) for m, v in first_chunks.items()}


def bucket_range(le: str, bounds: Sequence[float]) -> tuple[float, float]:
    """The (lower, upper] value range of the bucket whose ``le`` label is ``le``."""
    labels = [le_label(b) for b in bounds] + ["+Inf"]
    i = labels.index(le)
    return (bounds[i - 1] if i else -math.inf), (bounds[i] if i < len(bounds) else math.inf)


@pytest.mark.parametrize(("metric", "bounds"), [
    ("otelagents_client_time_to_first_token_seconds_bucket", sc.TTFT_BUCKETS),
    ("gen_ai_client_operation_time_per_output_chunk_seconds_bucket", sc.CHUNK_GAP_BUCKETS),
])
def test_exemplars_carry_the_ids_of_exported_chat_spans(scraped: Scraped, metric: str,
                                                        bounds: Sequence[float]) -> None:
    series = scraped.prom.query_exemplars(f"{metric}{selector(scraped)}", scraped.started, time.time())
    exemplars = [(s["seriesLabels"], e) for s in series for e in s["exemplars"]]
    assert exemplars, f"Prometheus stored no exemplars for {metric}"
    chats = chat_span_ids(scraped.workload.spans())
    trace_ids = {s.context.trace_id for s in scraped.workload.spans()}
    for labels, exemplar in exemplars:
        ids = (exemplar["labels"]["trace_id"], exemplar["labels"]["span_id"])
        assert int(ids[0], 16) in trace_ids, f"exemplar {exemplar} names a trace that was never exported"
        assert ids in chats, f"exemplar {exemplar} is not a chat span of this run"
        low, high = bucket_range(labels["le"], bounds)
        assert low < float(exemplar["value"]) <= high, (labels["le"], exemplar)
    assert {labels["gen_ai_request_model"] for labels, _ in exemplars} == set(scraped.workload.expected.calls)
    if metric.startswith("otelagents_client_time_to_first_token"):
        assert all(float(e["value"]) >= TTFT_S for _, e in exemplars)


def test_promtool_accepts_the_live_classic_exposition(scraped: Scraped) -> None:
    promtool = require_binary("promtool")
    response = httpx.get(scraped.workload.metrics_server.url, timeout=5)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    families = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    missing = [spec.prometheus_name for spec in sc.METRICS if spec.prometheus_name not in families]
    assert missing == [], f"the workload should produce every metric; absent: {missing}"
    result = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30,
                            check=False)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
