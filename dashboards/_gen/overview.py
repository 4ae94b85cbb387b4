"""The otelagents overview dashboard: runs, model calls, token streams, tools, agents, errors."""

from __future__ import annotations

from otelagents.telemetry import semconv as sc

from . import dashboard as d
from . import promql as q
from .panels import (
    TOKENS_PER_SECOND,
    Json,
    Layout,
    Panel,
    Query,
    bar_gauge,
    heatmap,
    quantile_queries,
    row,
    stat,
    table,
    timeseries,
    traces,
)

UID = "otelagents-overview"
TITLE = "otelagents / Overview"

SCOPE = q.Scope(((sc.GEN_AI_AGENT_NAME, "agent"), (sc.GEN_AI_REQUEST_MODEL, "model")))

WORKFLOW = q.metric(sc.METRIC_INVOKE_WORKFLOW_DURATION, SCOPE)
CALLS = q.metric(sc.METRIC_OPERATION_DURATION, SCOPE)
TOKENS = q.metric(sc.METRIC_TOKEN_USAGE, SCOPE)
TTFT = q.metric(sc.METRIC_TIME_TO_FIRST_TOKEN, SCOPE)
TTFC = q.metric(sc.METRIC_TIME_TO_FIRST_CHUNK, SCOPE)
GAP = q.metric(sc.METRIC_TIME_PER_OUTPUT_CHUNK, SCOPE)
DECODE = q.metric(sc.METRIC_OUTPUT_TOKENS_PER_SECOND, SCOPE)
STALLS = q.metric(sc.METRIC_STALLS, SCOPE)
AGENT = q.metric(sc.METRIC_INVOKE_AGENT_DURATION, SCOPE)
TOOL = q.metric(sc.METRIC_EXECUTE_TOOL_DURATION, SCOPE)
HANDOFFS = q.metric(sc.METRIC_HANDOFFS, SCOPE)
ERRORS = q.metric(sc.METRIC_ERRORS, SCOPE)
FIRST_TEXT = q.metric(sc.METRIC_RUN_TIME_TO_FIRST_TEXT, SCOPE)
FINAL_OUTPUT = q.metric(sc.METRIC_RUN_TIME_TO_FINAL_OUTPUT, SCOPE)
STREAMS_OPEN = q.metric(sc.METRIC_STREAMS_OPEN, SCOPE)
STREAMS_STALLED = q.metric(sc.METRIC_STREAMS_STALLED, SCOPE)

MODEL = q.label(sc.GEN_AI_REQUEST_MODEL)
TOKEN_TYPE = q.label(sc.GEN_AI_TOKEN_TYPE)
TOOL_NAME = q.label(sc.GEN_AI_TOOL_NAME)
AGENT_NAME = q.label(sc.GEN_AI_AGENT_NAME)
OPERATION = q.label(sc.GEN_AI_OPERATION_NAME)
ERROR_TYPE = q.label(sc.ERROR_TYPE)
SOURCE = q.label(sc.GEN_AI_AGENT_HANDOFF_SOURCE_NAME)
TARGET = q.label(sc.GEN_AI_AGENT_HANDOFF_TARGET_NAME)
OUTPUT = f'{TOKEN_TYPE}="output"'

RATIO_THRESHOLDS = ((0.01, "yellow"), (0.05, "red"))


def latency_pair(title: str, text: str, m: q.Metric) -> list[Panel]:
    """A p50/p95/p99 time series and the heatmap of the same histogram, side by side."""
    return [
        timeseries(f"{title}: p50, p95, p99, mean", text, (m.name,), quantile_queries(m, with_mean=True), "s"),
        heatmap(f"{title} heatmap", f"{text} Bucket rates per interval.", (m.name,), q.heatmap(m), "s"),
    ]


def tiles() -> list[Panel]:
    return [
        stat("Runs/s", "Agent runs finished per second, failed ones included (not filtered by agent or model).",
             (WORKFLOW.name,),
             Query(q.rate(WORKFLOW, "count")), "reqps"),
        stat("Model calls/s", "Model calls finished per second, failed ones included.", (CALLS.name,),
             Query(q.rate(CALLS, "count")), "reqps"),
        stat("Model error ratio", "Share of model calls that ended with an error.type.", (CALLS.name,),
             Query(q.error_ratio(CALLS)), "percentunit", RATIO_THRESHOLDS),
        stat("TTFT p95", "95th percentile time to the first output-bearing token.", (TTFT.name,),
             Query(q.quantile(0.95, TTFT)), "s", ((1.0, "yellow"), (2.5, "red"))),
        stat("Inter-token p95", "95th percentile gap between consecutive output chunks.", (GAP.name,),
             Query(q.quantile(0.95, GAP)), "s", ((0.1, "yellow"), (0.5, "red"))),
        stat("Output tokens/s", "Output tokens per second summed over every model call.", (TOKENS.name,),
             Query(q.rate(TOKENS, "sum", extra=(OUTPUT,))), TOKENS_PER_SECOND),
        stat("Tool error ratio", "Share of tool calls that ended with an error.type.", (TOOL.name,),
             Query(q.error_ratio(TOOL)), "percentunit", RATIO_THRESHOLDS),
        stat("Run error ratio",
             "Share of agent runs that ended with an error.type, cancelled included (not filtered by agent or model).",
             (WORKFLOW.name,), Query(q.error_ratio(WORKFLOW)), "percentunit", RATIO_THRESHOLDS),
    ]


def stream_latency() -> list[Panel]:
    decode = quantile_queries(DECODE, (0.05, 0.5, 0.95), exemplar=False)
    return [
        row("Stream latency"),
        timeseries("Time to first text (run): p50, p95, p99, mean",
                   "From a run's start to the first text its user sees (output text or a refusal), across tool "
                   "calls and handoffs: what the user waits for (not filtered by agent or model).",
                   (FIRST_TEXT.name,), quantile_queries(FIRST_TEXT, with_mean=True), "s"),
        timeseries("Time to final output (run): p50, p95, p99, mean",
                   "From a run's start to its final output (not filtered by agent or model).",
                   (FINAL_OUTPUT.name,), quantile_queries(FINAL_OUTPUT, with_mean=True), "s"),
        *latency_pair("Time to first token",
                      "Time from sending a streaming request to its first output-bearing delta.", TTFT),
        *latency_pair("Time to first chunk",
                      "Time from sending a streaming request to its first chunk of any kind.", TTFC),
        *latency_pair("Inter-chunk gap",
                      "Gap between consecutive output-bearing chunks of a stream (inter-token latency).", GAP),
        timeseries("Decode rate per stream", "Output tokens per second of each stream, from its first to "
                   "its last output chunk. p5 is the slow tail.", (DECODE.name,), decode, TOKENS_PER_SECOND),
        timeseries("Stalls/s by model", "Gaps between output chunks longer than the stall threshold.",
                   (STALLS.name, TTFC.name),
                   [Query(q.or_zero(q.rate(STALLS, by=(MODEL,)), q.rate(TTFC, "count", (MODEL,))),
                          legend=f"{{{{{MODEL}}}}}")], "ops"),
        timeseries("Streams in flight", "Model streams open now, and those of them whose last output chunk is "
                   "older than the stall threshold (a hung stream shows here while it is still open).",
                   (STREAMS_OPEN.name, STREAMS_STALLED.name),
                   [Query(q.or_zero(f"sum({STREAMS_OPEN.series()})"), legend="open"),
                    Query(q.or_zero(f"sum({STREAMS_STALLED.series()})"), legend="stalled")], "short"),
    ]


def model_calls() -> list[Panel]:
    by_model = (MODEL,)
    tokens_by = (MODEL, TOKEN_TYPE)
    legend_model = f"{{{{{MODEL}}}}}"
    columns = [
        ("Calls", f"round({q.rate(CALLS, 'count', by_model, window=q.RANGE_WINDOW, fn='increase')})", "short"),
        ("Output tokens", f"round({q.rate(TOKENS, 'sum', by_model, (OUTPUT,), q.RANGE_WINDOW, 'increase')})",
         "short"),
        ("Error share", q.error_ratio(CALLS, by_model, q.RANGE_WINDOW, "increase"), "percentunit"),
        ("TTFT p95", q.quantile(0.95, TTFT, by_model, window=q.RANGE_WINDOW, fn="increase"), "s"),
        ("Duration p95", q.quantile(0.95, CALLS, by_model, window=q.RANGE_WINDOW, fn="increase"), "s"),
    ]
    return [
        row("Model calls"),
        timeseries("Model call duration", "Duration of each model call, from request to last chunk.",
                   (CALLS.name,), quantile_queries(CALLS, with_mean=True), "s", w=8),
        timeseries("Model calls/s by model", "Model calls finished per second, by requested model.",
                   (CALLS.name,), [Query(q.rate(CALLS, "count", by_model), legend=legend_model)], "reqps", w=8),
        timeseries("Tokens/s by model and type", "Input and output tokens per second, by requested model.",
                   (TOKENS.name,), [Query(q.rate(TOKENS, "sum", tokens_by),
                                          legend=f"{legend_model} · {{{{{TOKEN_TYPE}}}}}")],
                   TOKENS_PER_SECOND, w=8),
        table("Models over the time range", "Per requested model, over the dashboard's time range.",
              (CALLS.name, TOKENS.name, TTFT.name), columns, MODEL),
    ]


def tools() -> list[Panel]:
    by_tool = (TOOL_NAME,)
    return [
        row("Tools"),
        timeseries("Tool calls/s by tool", "Tool calls finished per second, by tool.", (TOOL.name,),
                   [Query(q.rate(TOOL, "count", by_tool), legend=f"{{{{{TOOL_NAME}}}}}")], "reqps", w=8),
        timeseries("Tool duration", "Duration of each tool call.", (TOOL.name,),
                   quantile_queries(TOOL, with_mean=True), "s", w=8),
        timeseries("Tool errors/s by tool", "Failed tool calls per second, by tool and error.type.",
                   (TOOL.name,), [Query(q.or_zero(q.rate(TOOL, "count", (TOOL_NAME, ERROR_TYPE),
                                                        (f'{ERROR_TYPE}!=""',)),
                                                 q.rate(TOOL, "count", by_tool), on=by_tool),
                                        legend=f"{{{{{TOOL_NAME}}}}} · {{{{{ERROR_TYPE}}}}}")], "ops", w=8,
                   stack=True),
    ]


def agents() -> list[Panel]:
    by_agent_p95 = Query(q.quantile(0.95, AGENT, (AGENT_NAME,)), legend=f"{{{{{AGENT_NAME}}}}}", exemplar=True)
    return [
        row("Agents and handoffs"),
        timeseries("Agent segment duration", "Duration of each agent's part of a run, until its final "
                   "output or handoff.", (AGENT.name,), quantile_queries(AGENT, with_mean=True), "s", w=8),
        timeseries("Agent segment p95 by agent", "95th percentile agent segment duration, by agent.",
                   (AGENT.name,), [by_agent_p95], "s", w=8),
        timeseries("Handoffs/s", "Handoffs per second from one agent to another (not filtered by agent).",
                   (HANDOFFS.name,), [Query(q.or_zero(q.rate(HANDOFFS, by=(SOURCE, TARGET))),
                                            legend=f"{{{{{SOURCE}}}}} → {{{{{TARGET}}}}}")], "ops", w=8),
        timeseries("Run duration", "Duration of each whole run, from start to the end of its stream "
                   "(not filtered by agent or model).", (WORKFLOW.name,), quantile_queries(WORKFLOW, with_mean=True),
                   "s", w=12),
        bar_gauge("Run duration distribution", "Share of runs in each duration bucket over the time range.",
                  (WORKFLOW.name,), q.bucket_share(WORKFLOW), "percentunit", w=12),
    ]


def errors() -> list[Panel]:
    by = (OPERATION, ERROR_TYPE)
    ratios = [
        Query(q.error_ratio(CALLS), legend="model calls"),
        Query(q.error_ratio(TOOL), legend="tool calls"),
        Query(q.error_ratio(AGENT), legend="agent segments"),
        Query(q.error_ratio(WORKFLOW), legend="runs"),
    ]
    total = q.or_zero(f"round({q.rate(ERRORS, by=by, window=q.RANGE_WINDOW, fn='increase')})")
    return [
        row("Errors"),
        timeseries("Errors/s by type and operation", "Failed operations per second, cancellations included.",
                   (ERRORS.name,), [Query(q.or_zero(q.rate(ERRORS, by=by)),
                                          legend=f"{{{{{OPERATION}}}}} · {{{{{ERROR_TYPE}}}}}")], "ops",
                   stack=True),
        timeseries("Error ratio by operation", "Share of model calls, tool calls, agent segments and runs "
                   "that ended with an error.type.", (CALLS.name, TOOL.name, AGENT.name, WORKFLOW.name),
                   ratios, "percentunit"),
        table("Errors over the time range", "Failed operations by operation and error.type over the "
              "dashboard's time range.", (ERRORS.name,), [("Errors", total, "short")], OPERATION, h=6),
        traces("Slow model calls (traces)", "The slowest recent chat spans of the selected agents and models; "
               "a row opens its trace.",
               '{ span.gen_ai.operation.name = "chat" && span.gen_ai.agent.name =~ "${agent:regex}" && '
               'span.gen_ai.request.model =~ "${model:regex}" && duration > 1s }'),
    ]


def variables() -> list[Json]:
    # agent and model use ".*" for All: some series (a run's own errors) carry no agent or model label,
    # and ".+" would hide them.
    agent_sel = f'{AGENT.name}_count{{job=~"$job", instance=~"$instance"}}'
    model_sel = f'{CALLS.name}_count{{job=~"$job", instance=~"$instance", {AGENT_NAME}=~"$agent"}}'
    return [
        d.datasource_variable("datasource", "prometheus", "Prometheus"),
        d.datasource_variable("traces_datasource", "tempo", "Traces"),
        *d.job_instance_variables(),
        d.query_variable("agent", "Agent", agent_sel, AGENT_NAME, all_value=".*"),
        d.query_variable("model", "Model", model_sel, MODEL, all_value=".*"),
    ]


def build() -> Json:
    layout = Layout()
    layout.add(*tiles(), *stream_latency(), *model_calls(), *tools(), *agents(), *errors())
    return d.dashboard(
        UID, TITLE,
        "Agent runs, model calls, token-stream latency, tools, handoffs and errors. "
        "Generated by dashboards/generate.py; do not edit by hand.",
        variables(), layout.panels,
    )
