"""One model's token-stream profile: first token, inter-chunk gaps, decode rate, stalls, SLOs."""

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
    timeseries,
)

UID = "otelagents-token-latency"
TITLE = "otelagents / Token latency"

SCOPE = q.Scope(((sc.GEN_AI_REQUEST_MODEL, "model"),))
TTFT = q.metric(sc.METRIC_TIME_TO_FIRST_TOKEN, SCOPE)
TTFC = q.metric(sc.METRIC_TIME_TO_FIRST_CHUNK, SCOPE)
GAP = q.metric(sc.METRIC_TIME_PER_OUTPUT_CHUNK, SCOPE)
DECODE = q.metric(sc.METRIC_OUTPUT_TOKENS_PER_SECOND, SCOPE)
STALLS = q.metric(sc.METRIC_STALLS, SCOPE)
MODEL = q.label(sc.GEN_AI_REQUEST_MODEL)

# SLO choices are bucket bounds, so that le="$ttft_slo" selects an existing series.
TTFT_SLO_CHOICES = (0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 10.0)
TTFT_SLO_DEFAULT = 1.0
GAP_SLO_CHOICES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
GAP_SLO_DEFAULT = 0.05


def _seconds_text(bound: float) -> str:
    return f"{bound * 1000:g} ms" if bound < 1 else f"{bound:g} s"


def slo_variable(name: str, label: str, spec: sc.MetricSpec, choices: tuple[float, ...], default: float) -> Json:
    if not set(choices) <= set(spec.buckets) or default not in choices:
        raise ValueError(f"{name} choices must be bucket bounds of {spec.name}: {spec.buckets}")
    pairs = [(_seconds_text(b), q.le_string(b)) for b in choices]
    return d.custom_variable(name, label, pairs, q.le_string(default))


def tiles() -> list[Panel]:
    streams = Query(q.rate(TTFC, "count"))
    ttft_slo = Query(q.slo_attainment(TTFT, "ttft_slo", q.RANGE_WINDOW, "increase"), instant=True)
    gap_slo = Query(q.slo_attainment(GAP, "gap_slo", q.RANGE_WINDOW, "increase"), instant=True)
    slo_steps = ((0.0, "red"), (0.95, "yellow"), (0.99, "green"))
    return [
        stat("Streams/s", "Streaming model calls per second.", (TTFC.name,), streams, "reqps"),
        stat("TTFT p95", "95th percentile time to the first output-bearing token.", (TTFT.name,),
             Query(q.quantile(0.95, TTFT)), "s", ((1.0, "yellow"), (2.5, "red"))),
        stat("First chunk p95", "95th percentile time to the first chunk of any kind.", (TTFC.name,),
             Query(q.quantile(0.95, TTFC)), "s", ((1.0, "yellow"), (2.5, "red"))),
        stat("Inter-chunk p95", "95th percentile gap between output chunks.", (GAP.name,),
             Query(q.quantile(0.95, GAP)), "s", ((0.1, "yellow"), (0.5, "red"))),
        stat("Decode rate p50", "Median output tokens per second of one stream.", (DECODE.name,),
             Query(q.quantile(0.5, DECODE)), TOKENS_PER_SECOND),
        stat("Stalls/s", "Gaps between output chunks longer than the stall threshold, per second.",
             (STALLS.name,), Query(q.or_zero(q.rate(STALLS))), "ops", ((0.01, "yellow"), (0.1, "red"))),
        stat("TTFT SLO attainment", "Share of streams whose first token came within $ttft_slo s over the "
             "time range.", (TTFT.name,), ttft_slo, "percentunit", slo_steps, decimals=2),
        stat("Inter-chunk SLO attainment", "Share of chunk gaps within $gap_slo s over the time range.",
             (GAP.name,), gap_slo, "percentunit", slo_steps, decimals=2),
    ]


def first_token() -> list[Panel]:
    both = [
        Query(q.quantile(0.5, TTFT), legend="first token p50", exemplar=True),
        Query(q.quantile(0.95, TTFT), legend="first token p95", exemplar=True),
        Query(q.quantile(0.5, TTFC), legend="first chunk p50", exemplar=True),
        Query(q.quantile(0.95, TTFC), legend="first chunk p95", exemplar=True),
    ]
    attainment = [Query(q.slo_attainment(TTFT, "ttft_slo"), legend="within $ttft_slo s")]
    return [
        row("First token"),
        timeseries("Time to first token vs first chunk", "First output-bearing token against the first "
                   "chunk of any kind; the gap is role, metadata and empty chunks sent before the output.",
                   (TTFT.name, TTFC.name), both, "s"),
        heatmap("Time to first token heatmap", "Time to first token, bucket rates per interval.",
                (TTFT.name,), q.heatmap(TTFT), "s"),
        bar_gauge("Time to first token bucket share", "Share of streams in each time-to-first-token "
                  "bucket over the time range.", (TTFT.name,), q.bucket_share(TTFT), "percentunit"),
        timeseries("TTFT SLO attainment", "Share of streams whose first token came within the selected "
                   "$ttft_slo s, per interval.", (TTFT.name,), attainment, "percentunit"),
    ]


def inter_chunk() -> list[Panel]:
    attainment = [Query(q.slo_attainment(GAP, "gap_slo"), legend="within $gap_slo s")]
    return [
        row("Inter-chunk gaps"),
        timeseries("Inter-chunk gap: p50, p95, p99, mean", "Gap between consecutive output-bearing chunks.",
                   (GAP.name,), quantile_queries(GAP, with_mean=True), "s"),
        heatmap("Inter-chunk gap heatmap", "Inter-chunk gaps, bucket rates per interval.", (GAP.name,),
                q.heatmap(GAP), "s"),
        bar_gauge("Inter-chunk gap bucket share", "Share of gaps in each bucket over the time range.",
                  (GAP.name,), q.bucket_share(GAP), "percentunit"),
        timeseries("Inter-chunk SLO attainment", "Share of gaps within the selected $gap_slo s, per interval.",
                   (GAP.name,), attainment, "percentunit"),
    ]


def decode_rate() -> list[Panel]:
    decode = quantile_queries(DECODE, (0.05, 0.5, 0.95), exemplar=False)
    per_stream = Query(q.divide(q.or_zero(q.rate(STALLS)), q.rate(TTFC, "count")), legend="stalls per stream")
    return [
        row("Decode rate and stalls"),
        timeseries("Decode rate per stream", "Output tokens per second of each stream, from its first to its "
                   "last output chunk. p5 is the slow tail.", (DECODE.name,), decode, TOKENS_PER_SECOND, w=8),
        heatmap("Decode rate heatmap", "Decode rate per stream, bucket rates per interval.", (DECODE.name,),
                q.heatmap(DECODE), TOKENS_PER_SECOND, w=8),
        timeseries("Stalls per stream", "Stalls (gaps longer than the stall threshold) per streaming call.",
                   (STALLS.name, TTFC.name), [per_stream], "short", w=8),
    ]


def variables() -> list[Json]:
    model_sel = f'{TTFT.name}_count{{job=~"$job", instance=~"$instance"}}'
    return [
        d.datasource_variable("datasource", "prometheus", "Prometheus"),
        *d.job_instance_variables(),
        d.query_variable("model", "Model", model_sel, MODEL, multi=False),
        slo_variable("ttft_slo", "TTFT SLO", TTFT.spec, TTFT_SLO_CHOICES, TTFT_SLO_DEFAULT),
        slo_variable("gap_slo", "Inter-chunk SLO", GAP.spec, GAP_SLO_CHOICES, GAP_SLO_DEFAULT),
    ]


def build() -> Json:
    layout = Layout()
    layout.add(*tiles(), *first_token(), *inter_chunk(), *decode_rate())
    return d.dashboard(
        UID, TITLE,
        "One model's token-stream profile: time to first token and first chunk, inter-chunk gaps, decode "
        "rate, stalls and SLO attainment. Generated by dashboards/generate.py; do not edit by hand.",
        variables(), layout.panels,
    )
