"""The profiler's figures against known truth: the real ``openai`` client over real SSE from the test
server, whose time to first token and chunk gaps are set per request; faults counted exactly; goodput;
the boundaries (one chunk, empty output); agent scenarios; and the exact statistics themselves."""

from __future__ import annotations

import asyncio
import io
import math
import random
import statistics
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otelagents.exceptions import UserError
from otelagents.profile import Endpoint, ProfileOptions, parse_slo, workload
from otelagents.profile._driver import release_times, run_level
from otelagents.profile._stats import percentile, summarize
from otelagents.profile._workload import Client
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import MetricsEngine
from otelagents.telemetry._observer import Telemetry
from otelagents.testing.server import OpenAICompatServer, RecordedRequest, Reply
from tests.profile_helpers import keyed_responder, prompt_index, prompts_file, run_profile

pytestmark = pytest.mark.timeout(120)

COUNT = 10
DELTAS = 6
# Truth is what the server did, on the same perf_counter clock (it runs in this process): for TTFT, the first
# delta written minus the request received; for gaps, the times between deltas written. The client sends
# before the server receives and reads after the server writes, so a measured TTFT is never below its truth
# (exact, by causality). It is above by what the client and server spend around it: a few ms, tens of ms
# when other processes hog both cores of a CI machine; the 60 ms steps between requests are wider, so a
# wrong rank or a bucket estimate still fails. Gaps are differences of two such delays: within a few ms.
LATE_S = {50: 0.05, 90: 0.05, 99: 0.1}  # p99 of ten requests is the single worst one
GAP_ABS_S = 0.005


def configured_ttft(i: int) -> float:
    return 0.04 + 0.06 * i


def configured_gap(i: int) -> float:
    return 0.005 + 0.004 * i


def exact(values: list[float], q: int) -> float:
    """The reference percentile, by the standard library (the same linear interpolation as numpy's default)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def timed_reply(i: int) -> Reply:
    return Reply.long(DELTAS, ttft=configured_ttft(i), gap=configured_gap(i))


def server_truth(requests: list[RecordedRequest]) -> dict[int, list[tuple[float, list[float]]]]:
    """Per prompt index, in arrival order: (TTFT, gaps) as the server sent them."""
    truth: dict[int, list[tuple[float, list[float]]]] = {}
    for request in requests:
        sent = request.delta_times
        gaps = [later - earlier for earlier, later in zip(sent, sent[1:], strict=False)]
        truth.setdefault(prompt_index(request), []).append((sent[0] - request.received, gaps))
    return truth


@pytest.mark.parametrize("api", ["responses", "chat_completions"])
def test_percentiles_match_the_servers_timing(tmp_path: Path, api: str) -> None:
    with OpenAICompatServer(responder=keyed_responder(timed_reply)) as server:
        result = run_profile(prompts_file(tmp_path, COUNT), Endpoint(base_url=server.base_url, model="m", api=api),
                             concurrency=(1, 3), requests=COUNT, warmup=1)
        truth = server_truth(server.requests[1:])  # after the warm-up request
    assert [run["concurrency"] for run in result.runs] == [1, 3]
    for level, run in enumerate(result.runs):
        records = sorted((r for r in result.records if r["concurrency"] == run["concurrency"]),
                         key=lambda r: r["index"])
        ttft_truth = [truth[r["index"]][level][0] for r in records]
        gap_truth = [gap for r in records for gap in truth[r["index"]][level][1]]
        assert run["requests"] == run["completed"] == COUNT and run["errors"] == 0
        assert run["ttft_s"]["count"] == COUNT and run["itl_s"]["count"] == len(gap_truth) == COUNT * (DELTAS - 1)
        for record, true_ttft in zip(records, ttft_truth, strict=True):
            assert record["ttft_s"] >= true_ttft  # never early
            assert len(record["itl_s"]) == DELTAS - 1 and record["output_chunks"] == DELTAS
            assert record["ttfv_s"] >= record["ttft_s"]  # from the run's start, which is before the send
        for q in (50, 90, 99):
            assert exact(ttft_truth, q) <= run["ttft_s"][f"p{q}"] <= exact(ttft_truth, q) + LATE_S[q], (q, run)
        for q in (50, 90):
            assert run["itl_s"][f"p{q}"] == pytest.approx(exact(gap_truth, q), abs=GAP_ABS_S), (q, run["itl_s"])
        # the configured delays are what the server aimed at; its own send times only add oversleep
        assert exact(ttft_truth, 50) >= exact([configured_ttft(i) for i in range(COUNT)], 50) - 0.001
        tpot_truth = [math.fsum(truth[r["index"]][level][1]) / (DELTAS - 1) for r in records]
        assert run["tpot_s"]["p50"] == pytest.approx(exact(tpot_truth, 50), abs=GAP_ABS_S)
        # every figure is exact over the raw records, not estimated from buckets
        for key, values in (("ttft_s", [r["ttft_s"] for r in records]), ("e2e_s", [r["e2e_s"] for r in records]),
                            ("itl_s", [g for r in records for g in r["itl_s"]])):
            for q in (50, 90, 95, 99):
                assert run[key][f"p{q}"] == pytest.approx(exact(values, q), rel=1e-12)
            assert run[key]["max"] == max(values) and run[key]["mean"] == pytest.approx(statistics.fmean(values))
        assert run["output_tokens"] == COUNT * DELTAS
        assert run["output_tokens_per_s"] == pytest.approx(COUNT * DELTAS / run["duration_s"])
        assert run["requests_per_s"] == pytest.approx(COUNT / run["duration_s"])
        assert all(r["e2e_s"] >= t for r, t in zip(records, ttft_truth, strict=True))


def faulty_reply(i: int) -> Reply:
    if i % 5 == 1:
        return Reply.status(500)
    if i % 5 == 2:
        return Reply.fault("drop_mid_stream", ttft=0.005)
    if i % 5 == 3:
        return Reply.long(4, ttft=0.3, gap=0.005)  # misses ttft=0.15
    if i % 5 == 4:
        return Reply.long(4, ttft=0.005, gap=0.06)  # misses itl=0.03
    return Reply.long(4, ttft=0.005, gap=0.005)  # good


def test_errors_by_type_and_goodput_are_counted_exactly(tmp_path: Path) -> None:
    count = 20
    with OpenAICompatServer(responder=keyed_responder(faulty_reply)) as server:
        result = run_profile(prompts_file(tmp_path, count), Endpoint(base_url=server.base_url, model="m"),
                             concurrency=(4,), requests=count, slo=parse_slo("ttft=0.15,itl=0.03"), warmup=1)
        # no retries: one request per run (a profiler reports what the endpoint did), after the warm-up
        assert len(server.requests) == count + 1
    (run,) = result.runs
    assert run["errors_by_type"] == {"InternalServerError": 4, "ModelBehaviorError": 4}
    assert run["errors"] == 8 and run["completed"] == 12
    goodput = run["goodput"]
    assert goodput["requests"] == 4 and goodput["fraction"] == pytest.approx(4 / count)
    assert goodput["requests_per_s"] == pytest.approx(4 / run["duration_s"])
    assert goodput["slo"] == {"ttft": 0.15, "itl": 0.03}
    failed = {r["index"]: r["error"] for r in result.records if r["error"]}
    assert failed == {i: ("InternalServerError" if i % 5 == 1 else "ModelBehaviorError")
                      for i in range(count) if i % 5 in (1, 2)}
    assert all(r["error_message"] for r in result.records if r["error"])
    # summaries cover successful requests only
    assert run["ttft_s"]["count"] == 12


def test_no_slo_means_no_goodput(tmp_path: Path) -> None:
    with OpenAICompatServer(responder=keyed_responder(lambda i: Reply.long(3))) as server:
        result = run_profile(prompts_file(tmp_path, 2), Endpoint(base_url=server.base_url, model="m"), requests=2)
    assert result.runs[0]["goodput"] is None


def test_one_chunk_and_empty_output(tmp_path: Path) -> None:
    replies = {0: Reply.text("Hello", chunks=1), 1: Reply.text("", usage=(3, 0, 0, 0))}
    with OpenAICompatServer(responder=keyed_responder(lambda i: replies[i])) as server:
        result = run_profile(prompts_file(tmp_path, 2), Endpoint(base_url=server.base_url, model="m"), requests=2,
                             slo=parse_slo("ttft=5,itl=0.001,tpot=0.001"))
    one, empty = sorted(result.records, key=lambda r: r["index"])
    assert one["output_chunks"] == 1 and one["itl_s"] == [] and one["tpot_s"] is None and one["ttft_s"] > 0
    assert empty["output_chunks"] == 0 and empty["ttft_s"] is None and empty["ttfv_s"] is None
    assert empty["error"] is None and empty["output_tokens"] == 0
    (run,) = result.runs
    assert run["itl_s"] == {"count": 0, "mean": None, "min": None, "p50": None, "p90": None, "p95": None,
                            "p99": None, "max": None}
    assert run["ttft_s"]["count"] == 1 and run["ttft_s"]["p99"] == one["ttft_s"]
    # one chunk has no gap to break itl/tpot; no first token misses ttft
    assert run["goodput"]["requests"] == 1


@pytest.mark.parametrize(("scenario", "calls"), [("text", 1), ("tools", 2), ("handoff", 2)])
def test_agent_scenarios_offline(scenario: str, calls: int) -> None:
    from otelagents._scenarios import Pace

    pace = Pace(first_token=(0.02, 0.02), gap=(0.002, 0.002), slow_share=0.0)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    engine = MetricsEngine()
    telemetry = Telemetry(tracer_provider=provider, metrics=engine)
    result = run_profile(scenario, Endpoint(pace=pace), [telemetry], concurrency=(2,), requests=4)
    assert all(r["model_calls"] == calls and r["error"] is None for r in result.records)
    for record in result.records:
        if calls == 2:  # visible text only comes with the second model call
            assert record["ttfv_s"] > record["ttft_s"] + 0.02
    # the same runs are in the telemetry: one trace per request, and its id in the record
    spans = exporter.get_finished_spans()
    workflows = {format(s.context.trace_id, "032x") for s in spans
                 if s.name == f"invoke_workflow profile {scenario}" and s.context is not None}
    assert workflows == {r["trace_id"] for r in result.records}
    ttft = next(m for m in engine.collect() if m.name == sc.METRIC_TIME_TO_FIRST_TOKEN)
    assert sum(p.count for p in ttft.points) == 4 * calls


def test_rate_releases_requests_no_earlier_than_scheduled() -> None:
    async def go() -> list[float]:
        client = Client(Endpoint(pace=Endpoint().pace.none()))
        try:
            level = await run_level(workload("text"), client, [], concurrency=8, requests=5, rate=20.0)
        finally:
            await client.close()
        return [r.start_s for r in level.records]

    starts = asyncio.run(go())
    assert all(start >= i / 20.0 for i, start in enumerate(starts))


def test_release_times() -> None:
    assert release_times(4, 20.0) == pytest.approx([0.0, 0.05, 0.1, 0.15])
    poisson = release_times(4000, 50.0, "poisson", seed=3)
    gaps = [b - a for a, b in zip(poisson, poisson[1:], strict=False)]
    assert poisson[0] == 0.0 and all(gap > 0 for gap in gaps)
    assert statistics.fmean(gaps) == pytest.approx(1 / 50, rel=0.1)
    assert statistics.stdev(gaps) == pytest.approx(1 / 50, rel=0.15)  # exponential: stdev = mean
    assert release_times(20, 50.0, "poisson", seed=3) == poisson[:20]  # seeded: the same times again
    assert release_times(20, 50.0, "poisson", seed=4) != poisson[:20]
    with pytest.raises(ValueError, match="constant, poisson"):
        release_times(2, 1.0, "bursty")


def test_poisson_arrivals_release_no_earlier_than_drawn() -> None:
    async def go() -> list[float]:
        client = Client(Endpoint(pace=Endpoint().pace.none()))
        try:
            level = await run_level(workload("text"), client, [], concurrency=8, requests=6, rate=30.0,
                                    arrival="poisson", seed=11)
        finally:
            await client.close()
        return [r.start_s for r in level.records]

    starts = asyncio.run(go())
    assert all(start >= due for start, due in zip(starts, release_times(6, 30.0, "poisson", 11), strict=True))


def test_max_tokens_is_sent(tmp_path: Path) -> None:
    with OpenAICompatServer(responder=keyed_responder(lambda i: Reply.long(2))) as server:
        run_profile(prompts_file(tmp_path, 1), Endpoint(base_url=server.base_url, model="m", max_tokens=7),
                    requests=1)
        body = server.requests[0].body
    assert body["max_output_tokens"] == 7


# --- statistics ------------------------------------------------------------------------------------------
def test_percentiles_agree_with_the_standard_library() -> None:
    rng = random.Random(17)
    for size in (2, 3, 10, 101, 1000):
        values = [rng.expovariate(10) for _ in range(size)]
        summary = summarize(values)
        for q in (50, 90, 95, 99):
            assert summary[f"p{q}"] == pytest.approx(exact(values, q), rel=1e-12)
        assert summary["mean"] == pytest.approx(statistics.fmean(values))
        assert (summary["min"], summary["max"], summary["count"]) == (min(values), max(values), size)


def test_percentile_boundaries() -> None:
    assert summarize([0.25]) == {"count": 1, "mean": 0.25, "min": 0.25, "p50": 0.25, "p90": 0.25, "p95": 0.25,
                                 "p99": 0.25, "max": 0.25}
    assert summarize([])["count"] == 0 and summarize([])["p50"] is None
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


# --- bad input -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "message"), [
    ("ttft", "NAME=SECONDS"), ("speed=1", "NAME=SECONDS"), ("ttft=fast", "number of seconds"),
    ("ttft=0", "positive"), ("itl=-1", "positive"), (",", "names no limit"),
])
def test_bad_slo(text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_slo(text)


def test_slo_names() -> None:
    assert parse_slo(" ttft=0.5, itl=0.05,tpot=0.02,e2e=3,ttfv=1 ") == {"ttft": 0.5, "itl": 0.05, "tpot": 0.02,
                                                                      "e2e": 3.0, "ttfv": 1.0}


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "not valid JSON"), ("[]", "JSON object"), ('{"prompts": []}', "non-empty list"),
    ('{"prompts": ["a", ""]}', "non-empty strings"), ('{"prompts": ["a"], "tools": []}', "unknown keys"),
    ('{"prompts": ["a"], "instructions": 3}', "must be strings"),
])
def test_bad_scenario_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        workload(str(path))


def test_unknown_scenario() -> None:
    with pytest.raises(UserError, match="text, tools, handoff"):
        workload("no-such-scenario")


def test_scenario_file_prompts_are_sent_in_turn(tmp_path: Path) -> None:
    with OpenAICompatServer(responder=keyed_responder(lambda i: Reply.long(1))) as server:
        run_profile(prompts_file(tmp_path, 3), Endpoint(base_url=server.base_url, model="m"), requests=5)
        sent = sorted(str(r.body["input"]) for r in server.requests)
    assert [s.count("request 0") for s in sent].count(1) == 2
    assert sum("request 2" in s for s in sent) == 1


@pytest.mark.parametrize(("options", "message"), [
    ({"concurrency": ()}, "one or more levels"), ({"concurrency": (0,)}, "one or more levels"),
    ({"requests": 0}, "at least 1"), ({"rate": 0.0}, "positive"), ({"warmup": -1}, "0 or more"),
    ({"arrival": "bursty"}, "constant, poisson"),
])
def test_bad_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(UserError, match=message):
        ProfileOptions(workload=workload("text"), **options)  # type: ignore[arg-type]


def test_bad_endpoint() -> None:
    with pytest.raises(UserError, match="api must be"):
        Endpoint(api="completions")
    with pytest.raises(UserError, match="max_tokens"):
        Endpoint(max_tokens=0)


def test_terminal_table_is_printed() -> None:
    out = io.StringIO()
    from otelagents.profile import profile

    options = ProfileOptions(workload=workload("text"), endpoint=Endpoint(pace=Endpoint().pace.none()),
                             concurrency=(1, 2), requests=2, warmup=0)
    asyncio.run(profile(options, [], out, io.StringIO()))
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:3] == ["conc", "req", "err"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2"]


def test_public_names() -> None:
    import otelagents.profile as package

    assert sorted(package.__all__) == ["Endpoint", "Profile", "ProfileOptions", "RECORD", "SCHEMA", "Workload",
                                       "load", "parse_slo", "profile", "workload"]
    assert all(hasattr(package, name) for name in package.__all__)


async def _scripted_answer(script: list[object], max_tokens: int | None) -> tuple[list[str], object]:
    """The text deltas and the terminal event of one scripted-model call with ``max_tokens``."""
    from otelagents.model_settings import ModelSettings
    from otelagents.models.interface import ModelTracing
    from otelagents.testing.scripted import ScriptedModel

    model = ScriptedModel(script)  # type: ignore[arg-type]
    deltas: list[str] = []
    last: object = None
    async for event in model.stream_response(None, "hi", ModelSettings(max_tokens=max_tokens), [], None, [],
                                             ModelTracing.DISABLED):
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
        last = event
    return deltas, last


@pytest.mark.parametrize(("max_tokens", "kept"), [(None, 5), (5, 5), (6, 5), (4, 4), (1, 1)])
def test_the_offline_model_stops_at_max_tokens_like_a_hosted_one(max_tokens: int | None, kept: int) -> None:
    deltas, last = asyncio.run(_scripted_answer(["one two three four five"], max_tokens))
    assert "".join(deltas) == " ".join("one two three four five".split()[:kept])
    assert last.type == "response.completed"  # type: ignore[attr-defined]
    response = last.response  # type: ignore[attr-defined]
    assert response.usage.output_tokens == kept
    reason = response.incomplete_details.reason if response.incomplete_details else None
    assert reason == ("max_output_tokens" if kept < 5 else None)


def test_a_tool_call_that_does_not_fit_max_tokens_is_not_started() -> None:
    from otelagents.testing.scripted import tool_call

    long_arguments = {"text": "x" * 40}  # about ten tokens
    deltas, last = asyncio.run(_scripted_answer([[tool_call("f", long_arguments)]], 2))
    assert deltas == [] and last.type == "response.incomplete"  # type: ignore[attr-defined]
    assert last.response.incomplete_details.reason == "max_output_tokens"  # type: ignore[attr-defined]
    deltas, last = asyncio.run(_scripted_answer([[tool_call("f", long_arguments)]], 50))
    assert last.type == "response.completed"  # type: ignore[attr-defined]
    assert last.response.output[0].type == "function_call"  # type: ignore[attr-defined]
