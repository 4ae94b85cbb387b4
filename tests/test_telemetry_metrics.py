"""Metrics recorded by ``Telemetry``: timing buckets and exact counts from a scripted model with known delays."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from otelagents import Agent, ModelBehaviorError, RawResponsesStreamEvent, RunConfig, Runner, function_tool
from otelagents import __version__ as otelagents_version
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._observer import Telemetry
from otelagents.testing import ScriptedModel, Turn, failure, handoff, text, tool_call
from tests.telemetry_helpers import (
    Rig,
    bucket_of,
    counter_value,
    drain,
    hist,
    make_rig,
    points_with,
    run_to_end,
    wait_done,
)

TEN_WORDS = "one two three four five six seven eight nine ten"


@pytest.fixture(scope="module", autouse=True)
def warm_up() -> None:
    """The first scripted response pays a one-off pydantic cost (~0.2 s) that would skew the first TTFC."""
    asyncio.run(Runner.run(Agent("warm", model=ScriptedModel(["warm up"])), "hi"))


@pytest.fixture
def rig() -> Rig:
    return make_rig()


@function_tool
def lookup(key: str) -> str:
    """Look a key up."""
    return key.upper()


async def test_stream_timing_lands_in_the_right_buckets(rig: Rig) -> None:
    model = ScriptedModel([Turn([text(TEN_WORDS)], usage=(100, 10))], first_token_delay=0.2, delta_delay=0.02)
    await run_to_end(Agent("timed", model=model), "go", rig.config())
    chat = rig.span("chat scripted-model")
    chat_ids = (chat.context.trace_id, chat.context.span_id)
    who = {sc.GEN_AI_AGENT_NAME: "timed"}

    ttft = hist(rig.engine, sc.METRIC_TIME_TO_FIRST_TOKEN, who)
    assert ttft.count == 1 and 0.2 <= ttft.sum < 0.32
    assert ttft.bucket_counts[bucket_of(ttft, ttft.sum)] == 1  # one of the fine buckets above 0.2 s
    assert sum(ttft.bucket_counts[:bucket_of(ttft, 0.2)]) == 0
    ttft_exemplar = ttft.exemplars[bucket_of(ttft, ttft.sum)]
    assert ttft_exemplar is not None and (ttft_exemplar.trace_id, ttft_exemplar.span_id) == chat_ids

    ttfc = hist(rig.engine, sc.METRIC_TIME_TO_FIRST_CHUNK, who)
    assert ttfc.count == 1 and ttfc.sum < 0.04  # response.created arrives before the first-token delay

    tpoc = hist(rig.engine, sc.METRIC_TIME_PER_OUTPUT_CHUNK, who)
    assert tpoc.count == 9  # ten chunks, nine gaps
    in_range = [i for i, bound in enumerate(tpoc.bounds) if 0.015 < bound <= 0.075]
    assert sum(tpoc.bucket_counts[i] for i in in_range) == 9, tpoc.bucket_counts
    assert tpoc.min >= 0.019
    slowest = [e for e in tpoc.exemplars if e is not None]
    assert len(slowest) == 1 and (slowest[0].trace_id, slowest[0].span_id) == chat_ids
    assert slowest[0].value == tpoc.max

    tokens_in = hist(rig.engine, sc.METRIC_TOKEN_USAGE, {**who, sc.GEN_AI_TOKEN_TYPE: "input"})
    tokens_out = hist(rig.engine, sc.METRIC_TOKEN_USAGE, {**who, sc.GEN_AI_TOKEN_TYPE: "output"})
    assert (tokens_in.count, tokens_in.sum, tokens_out.count, tokens_out.sum) == (1, 100, 1, 10)

    rate = hist(rig.engine, sc.METRIC_OUTPUT_TOKENS_PER_SECOND, who)
    assert rate.count == 1
    assert 20 < rate.sum <= 9 / 0.18 + 1e-9  # nine tokens after the first, over >= nine 20 ms gaps

    duration = hist(rig.engine, sc.METRIC_OPERATION_DURATION, who)
    assert duration.count == 1 and 0.38 <= duration.sum < 1.5
    assert sc.ERROR_TYPE not in duration.attributes
    assert duration.attributes[sc.GEN_AI_RESPONSE_MODEL] == "scripted-model"
    assert duration.attributes[sc.GEN_AI_PROVIDER_NAME] == "scripted"

    assert points_with(rig.engine, sc.METRIC_STALLS, {}) == []  # 20 ms gaps are far below the 0.5 s threshold
    assert hist(rig.engine, sc.METRIC_INVOKE_AGENT_DURATION, who).count == 1
    assert hist(rig.engine, sc.METRIC_INVOKE_WORKFLOW_DURATION).count == 1
    assert counter_value(rig.engine, sc.METRIC_ERRORS) == 0


async def test_counts_are_exact_over_several_calls(rig: Rig) -> None:
    for _ in range(2):
        model = ScriptedModel([[tool_call("lookup", {"key": "k"})], "a four word answer"])
        await run_to_end(Agent("counted", model=model, tools=[lookup]), "go", rig.config())
    who = {sc.GEN_AI_AGENT_NAME: "counted"}
    assert hist(rig.engine, sc.METRIC_OPERATION_DURATION, who).count == 4
    assert hist(rig.engine, sc.METRIC_TIME_TO_FIRST_CHUNK, who).count == 4
    assert hist(rig.engine, sc.METRIC_TIME_TO_FIRST_TOKEN, who).count == 4
    # the tool-call turn streams one arguments delta (no gap); the answer four words (three gaps)
    assert hist(rig.engine, sc.METRIC_TIME_PER_OUTPUT_CHUNK, who).count == 6
    # a decode rate needs four output chunks: only the answers have one
    assert hist(rig.engine, sc.METRIC_OUTPUT_TOKENS_PER_SECOND, who).count == 2
    assert hist(rig.engine, sc.METRIC_TOKEN_USAGE, {**who, sc.GEN_AI_TOKEN_TYPE: "output"}).count == 4
    tool = hist(rig.engine, sc.METRIC_EXECUTE_TOOL_DURATION, {sc.GEN_AI_TOOL_NAME: "lookup"})
    assert tool.count == 2
    assert dict(tool.attributes) == {sc.GEN_AI_OPERATION_NAME: "execute_tool", sc.GEN_AI_TOOL_NAME: "lookup",
                                     sc.GEN_AI_TOOL_TYPE: "function", sc.GEN_AI_AGENT_NAME: "counted"}
    assert hist(rig.engine, sc.METRIC_INVOKE_AGENT_DURATION, who).count == 2
    assert hist(rig.engine, sc.METRIC_INVOKE_WORKFLOW_DURATION).count == 2


async def test_stalls_are_counted_against_the_threshold() -> None:
    rig = make_rig(stall_threshold_s=0.03)
    model = ScriptedModel(["a b c d"], delta_delay=0.06)
    await run_to_end(Agent("staller", model=model), "go", rig.config())
    stalls = points_with(rig.engine, sc.METRIC_STALLS, {sc.GEN_AI_AGENT_NAME: "staller"})
    assert [p.value for p in stalls] == [3]  # type: ignore[union-attr]
    exemplar = stalls[0].exemplar  # type: ignore[union-attr]
    assert exemplar is not None and exemplar.span_id == rig.span("chat scripted-model").context.span_id


async def test_model_failure_counts_errors_per_operation(rig: Rig) -> None:
    with pytest.raises(ModelBehaviorError):
        await drain(Runner.run_streamed(Agent("failing", model=ScriptedModel([failure("failed")])), "go",
                                        run_config=rig.config()))
    err = {sc.ERROR_TYPE: "ModelBehaviorError"}
    for operation in ("chat", "invoke_agent", "invoke_workflow"):
        assert counter_value(rig.engine, sc.METRIC_ERRORS, {**err, sc.GEN_AI_OPERATION_NAME: operation}) == 1
    assert counter_value(rig.engine, sc.METRIC_ERRORS) == 3
    assert hist(rig.engine, sc.METRIC_OPERATION_DURATION, err).count == 1
    assert hist(rig.engine, sc.METRIC_INVOKE_AGENT_DURATION, err).count == 1
    assert hist(rig.engine, sc.METRIC_INVOKE_WORKFLOW_DURATION, err).count == 1
    assert points_with(rig.engine, sc.METRIC_TOKEN_USAGE, {}) == []  # the stream carried no usage


async def test_cancellation_is_an_error(rig: Rig) -> None:
    model = ScriptedModel(["a b c d e f g h"], delta_delay=0.05)
    result = Runner.run_streamed(Agent("cancelled", model=model), "go", run_config=rig.config())
    async for event in result.stream_events():
        if isinstance(event, RawResponsesStreamEvent) and event.data.type == "response.output_text.delta":
            result.cancel()
    await wait_done(result)
    cancelled = {sc.ERROR_TYPE: "cancelled"}
    assert hist(rig.engine, sc.METRIC_OPERATION_DURATION, cancelled).count == 1
    assert counter_value(rig.engine, sc.METRIC_ERRORS, {**cancelled, sc.GEN_AI_OPERATION_NAME: "chat"}) == 1
    assert counter_value(rig.engine, sc.METRIC_ERRORS, cancelled) == 3
    assert hist(rig.engine, sc.METRIC_TIME_TO_FIRST_TOKEN).count == 1  # it did stream before the cancel


async def test_handled_tool_error_is_counted_on_the_tool_only(rig: Rig) -> None:
    @function_tool
    def broken() -> str:
        raise KeyError("missing")

    await run_to_end(Agent("t", model=ScriptedModel([[tool_call("broken")], "sorry"]), tools=[broken]), "go",
                     rig.config())
    assert hist(rig.engine, sc.METRIC_EXECUTE_TOOL_DURATION, {sc.ERROR_TYPE: "KeyError"}).count == 1
    assert counter_value(rig.engine, sc.METRIC_ERRORS,
                         {sc.GEN_AI_OPERATION_NAME: "execute_tool", sc.ERROR_TYPE: "KeyError"}) == 1
    assert counter_value(rig.engine, sc.METRIC_ERRORS) == 1
    assert sc.ERROR_TYPE not in hist(rig.engine, sc.METRIC_INVOKE_WORKFLOW_DURATION).attributes


async def test_handoffs_are_counted(rig: Rig) -> None:
    billing = Agent("billing", model=ScriptedModel(["paid"]))
    triage = Agent("triage", model=ScriptedModel([[handoff(billing)]]), handoffs=[billing])
    await run_to_end(triage, "go", rig.config())
    hand = points_with(rig.engine, sc.METRIC_HANDOFFS, {})
    assert [(dict(p.attributes), p.value) for p in hand] == [  # type: ignore[union-attr]
        ({sc.GEN_AI_AGENT_HANDOFF_SOURCE_NAME: "triage", sc.GEN_AI_AGENT_HANDOFF_TARGET_NAME: "billing"}, 1)]
    assert hist(rig.engine, sc.METRIC_INVOKE_AGENT_DURATION, {sc.GEN_AI_AGENT_NAME: "billing"}).count == 1


async def test_no_exemplars_for_unsampled_spans() -> None:
    rig = make_rig(sampler=ALWAYS_OFF)
    model = ScriptedModel([[tool_call("lookup", {"key": "k"})], "a b c"], delta_delay=0.001)
    await run_to_end(Agent("quiet", model=model, tools=[lookup]), "go", rig.config())
    assert rig.spans() == []
    recorded = 0
    for snap in rig.engine.collect():
        for point in snap.points:
            recorded += 1
            assert all(e is None for e in getattr(point, "exemplars", ())), snap.name
            assert getattr(point, "exemplar", None) is None, snap.name
    assert recorded > 5
    assert hist(rig.engine, sc.METRIC_TIME_PER_OUTPUT_CHUNK).count == 2


async def test_info_gauge_and_low_cardinality_attributes(rig: Rig) -> None:
    model = ScriptedModel([[tool_call("lookup", {"key": "k"})], "a b c"])
    await run_to_end(Agent("card", model=model, tools=[lookup]), "go", rig.config(group_id="conversation-1"))
    for snap in rig.engine.collect():
        for point in snap.points:
            assert set(point.attributes) <= set(snap.spec.attributes), snap.name
            for value in point.attributes.values():
                assert not str(value).startswith(("resp_", "call_", "conversation-")), (snap.name, value)
    info = points_with(rig.engine, sc.METRIC_INFO, {})
    assert [(dict(p.attributes), p.value) for p in info] == [  # type: ignore[union-attr]
        ({"version": otelagents_version}, 1)]


async def test_default_sink_records_through_the_otel_metrics_api() -> None:
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    rig = make_rig()
    telemetry = Telemetry(rig.provider, meter_provider)
    model = ScriptedModel(["a b c d"], delta_delay=0.01)
    await run_to_end(Agent("api", model=model), "go", RunConfig(observers=[telemetry]))
    data = reader.get_metrics_data()
    assert data is not None
    metrics = {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert {sc.METRIC_TIME_TO_FIRST_TOKEN, sc.METRIC_TIME_PER_OUTPUT_CHUNK, sc.METRIC_OPERATION_DURATION,
            sc.METRIC_INFO, sc.METRIC_INVOKE_WORKFLOW_DURATION} <= set(metrics)
    tpoc = metrics[sc.METRIC_TIME_PER_OUTPUT_CHUNK].data.data_points
    assert len(tpoc) == 1 and isinstance(tpoc[0], HistogramDataPoint)
    assert tpoc[0].count == 3
    assert list(tpoc[0].explicit_bounds) == list(sc.CHUNK_GAP_BUCKETS)
    ttft = metrics[sc.METRIC_TIME_TO_FIRST_TOKEN].data.data_points[0]
    chat = rig.span("chat scripted-model")
    assert [e.span_id for e in ttft.exemplars] == [chat.context.span_id]
    meter_provider.shutdown()


async def test_no_decode_rate_from_a_burst_of_fewer_than_four_chunks(rig: Rig) -> None:
    model = ScriptedModel(["three word answer"])
    await run_to_end(Agent("bursty", model=model), "go", rig.config())
    who = {sc.GEN_AI_AGENT_NAME: "bursty"}
    assert hist(rig.engine, sc.METRIC_TIME_PER_OUTPUT_CHUNK, who).count == 2
    assert points_with(rig.engine, sc.METRIC_OUTPUT_TOKENS_PER_SECOND, who) == []


async def test_streaming_latencies_run_from_the_request_leaving(rig: Rig) -> None:
    """An adapter reports when the request reaches the transport; building it does not count as latency."""
    from otelagents.models.interface import notify_request_sent

    class SlowToSend(ScriptedModel):
        async def stream_response(self, *args, **kwargs):  # type: ignore[no-untyped-def,override]
            await asyncio.sleep(0.3)  # the client preparing the request
            notify_request_sent()
            async for event in super().stream_response(*args, **kwargs):
                yield event

    await run_to_end(Agent("sender", model=SlowToSend(["one two three four"])), "go", rig.config())
    who = {sc.GEN_AI_AGENT_NAME: "sender"}
    assert hist(rig.engine, sc.METRIC_OPERATION_DURATION, who).sum >= 0.3
    assert hist(rig.engine, sc.METRIC_TIME_TO_FIRST_CHUNK, who).sum < 0.1
    assert hist(rig.engine, sc.METRIC_TIME_TO_FIRST_TOKEN, who).sum < 0.1
    chat = next(s for s in rig.spans() if s.name.startswith("chat "))
    assert chat.attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] < 0.1
