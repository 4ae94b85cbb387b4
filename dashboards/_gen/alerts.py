"""Prometheus alert rules, the recording rules they read, and promtool unit tests for both.

Recording rules are named ``level:metric:operations``. Every alert has a firing and a quiet case
in the generated test file, with values chosen so the expected numbers are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from otelagents.telemetry import semconv as sc

from . import promql as q

Json = dict[str, Any]

WINDOW = "5m"
JOB_NAME = "otelagents"  # the scrape job in prometheus.yml
SCOPE = q.Scope(targets=False)
MODEL = q.label(sc.GEN_AI_REQUEST_MODEL)
TOOL_NAME = q.label(sc.GEN_AI_TOOL_NAME)
INFO = q.metric(sc.METRIC_INFO, SCOPE).name

TTFT = q.metric(sc.METRIC_TIME_TO_FIRST_TOKEN, SCOPE)
TTFC = q.metric(sc.METRIC_TIME_TO_FIRST_CHUNK, SCOPE)
STALLS = q.metric(sc.METRIC_STALLS, SCOPE)
CALLS = q.metric(sc.METRIC_OPERATION_DURATION, SCOPE)
TOOL = q.metric(sc.METRIC_EXECUTE_TOOL_DURATION, SCOPE)
STALLED = q.metric(sc.METRIC_STREAMS_STALLED, SCOPE)

BY_MODEL = ("job", MODEL)
BY_TOOL = ("job", TOOL_NAME)
TTFT_P95 = f"job_model:{TTFT.name}:p95_rate{WINDOW}"
STALLS_PER_STREAM = f"job_model:{STALLS.name.removesuffix('_total')}_per_stream:ratio_rate{WINDOW}"
MODEL_ERRORS = f"job_model:{CALLS.name}:error_ratio_rate{WINDOW}"
TOOL_ERRORS = f"job_tool:{TOOL.name}:error_ratio_rate{WINDOW}"

TTFT_P95_THRESHOLD = 2.0  # seconds
STALLS_PER_STREAM_THRESHOLD = 0.5
MODEL_ERROR_RATIO_THRESHOLD = 0.05
TOOL_ERROR_RATIO_THRESHOLD = 0.1


def recording_rules() -> list[Json]:
    streams = q.rate(TTFC, "count", BY_MODEL, window=WINDOW)
    stalls = q.divide(q.or_zero(q.rate(STALLS, by=BY_MODEL, window=WINDOW), streams), streams)
    return [
        {"record": TTFT_P95, "expr": q.quantile(0.95, TTFT, BY_MODEL, window=WINDOW)},
        {"record": STALLS_PER_STREAM, "expr": stalls},
        {"record": MODEL_ERRORS, "expr": q.error_ratio(CALLS, BY_MODEL, window=WINDOW)},
        {"record": TOOL_ERRORS, "expr": q.error_ratio(TOOL, BY_TOOL, window=WINDOW)},
    ]


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str) -> Json:
    return {
        "alert": name, "expr": expr, "for": for_, "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description},
    }


def alert_rules() -> list[Json]:
    model = "{{ $labels.gen_ai_request_model }}"
    job = "{{ $labels.job }}"
    return [
        _alert("OtelagentsTimeToFirstTokenHigh", f"{TTFT_P95} > {TTFT_P95_THRESHOLD:g}", "10m", "warning",
               f"Slow first token from {model}",
               f"p95 time to first token of {model} in job {job} is {{{{ $value | humanizeDuration }}}} "
               f"(threshold {TTFT_P95_THRESHOLD:g}s)."),
        _alert("OtelagentsInterTokenStalls", f"{STALLS_PER_STREAM} > {STALLS_PER_STREAM_THRESHOLD:g}", "10m",
               "warning", f"Token streams from {model} stall",
               f"Streams of {model} in job {job} stall {{{{ $value | printf \"%.2f\" }}}} times each "
               f"(threshold {STALLS_PER_STREAM_THRESHOLD:g}): gaps between output chunks exceed the stall "
               "threshold."),
        _alert("OtelagentsStreamsStalled", f"max by (job, {MODEL}) ({STALLED.name}) > 0", "5m", "warning",
               f"Open streams from {model} stalled",
               f"{{{{ $value }}}} open stream(s) of {model} in job {job} have sent no output chunk for longer "
               "than the stall threshold. Pending from the first scrape that sees it; firing after 5 minutes."),
        _alert("OtelagentsModelErrorRatioHigh", f"{MODEL_ERRORS} > {MODEL_ERROR_RATIO_THRESHOLD:g}", "5m",
               "critical", f"Model calls to {model} fail",
               f"{{{{ $value | humanizePercentage }}}} of model calls to {model} in job {job} ended with an "
               f"error (threshold {MODEL_ERROR_RATIO_THRESHOLD:.0%})."),
        _alert("OtelagentsToolErrorRatioHigh", f"{TOOL_ERRORS} > {TOOL_ERROR_RATIO_THRESHOLD:g}", "10m",
               "warning", "Tool {{ $labels.gen_ai_tool_name }} fails",
               f"{{{{ $value | humanizePercentage }}}} of calls to tool {{{{ $labels.gen_ai_tool_name }}}} in job "
               f"{job} ended with an error (threshold {TOOL_ERROR_RATIO_THRESHOLD:.0%})."),
        _alert("OtelagentsTelemetryAbsent", f"absent({INFO})", "10m", "warning",
               "No otelagents telemetry",
               f"Prometheus has no {INFO} series: no otelagents process is exporting metrics, or none is "
               "scraped. Check that telemetry is started and that the scrape config names its port."),
        _alert("OtelagentsTargetDown", f'up{{job=~"{JOB_NAME}.*"}} == 0', "5m", "critical",
               "otelagents target {{ $labels.instance }} is down",
               "Prometheus cannot scrape {{ $labels.instance }} of job {{ $labels.job }}: the process is "
               "down or its metrics port is not listening."),
    ]


def rules_file() -> Json:
    return {"groups": [
        {"name": "otelagents-recording", "rules": recording_rules()},
        {"name": "otelagents-alerts", "rules": alert_rules()},
    ]}


# --- promtool unit tests ------------------------------------------------------------------------------
TARGET = f'job="{JOB_NAME}", instance="127.0.0.1:9464"'
STEPS = "x30"  # 30 one-minute samples


def _series(name: str, labels: str, per_minute: float) -> Json:
    return {"series": f"{name}{{{labels}}}", "values": f"0+{per_minute:g}{STEPS}"}


@dataclass(frozen=True)
class Case:
    """One alert scenario: input series, an optional recorded value, and the alerts at 20m."""

    name: str
    series: list[Json]
    alert: str
    firing: list[Json]
    record: str = ""
    value: float = 0.0
    record_labels: str = ""


def _ttft_buckets(model: str, fast: int, slow: int) -> list[Json]:
    labels = f'{TARGET}, {MODEL}="{model}"'
    cumulative = {"0.5": fast, "2.0": fast, "4.0": fast + slow, "+Inf": fast + slow}
    return [_series(f"{TTFT.name}_bucket", f'{labels}, le="{le}"', n) for le, n in cumulative.items()]


def _annotated(labels: Json, summary: str, description: str) -> Json:
    return {"exp_labels": labels, "exp_annotations": {"summary": summary, "description": description}}


def cases() -> list[Case]:
    m = f'{TARGET}, {MODEL}="m1"'
    model_labels = {"job": JOB_NAME, MODEL: "m1"}
    tool = f'{TARGET}, {TOOL_NAME}="search"'
    err = f'{q.label(sc.ERROR_TYPE)}="timeout"'
    rec = f'{{{MODEL}="m1", job="{JOB_NAME}"}}'
    return [
        # 54 of 60 streams under 0.5 s, 6 in (2, 4]: p95 = 2 + 2 * 3/6 = 3 s.
        Case("time to first token: p95 3s fires", _ttft_buckets("m1", 54, 6), "OtelagentsTimeToFirstTokenHigh",
             [_annotated({**model_labels, "severity": "warning"}, "Slow first token from m1",
                         "p95 time to first token of m1 in job otelagents is 3s (threshold 2s).")],
             TTFT_P95, 3.0, rec),
        Case("time to first token: all fast stays quiet", _ttft_buckets("m1", 60, 0),
             "OtelagentsTimeToFirstTokenHigh", [], TTFT_P95, 0.475, rec),
        Case("stalls: one per stream fires",
             [_series(STALLS.name, m, 60), _series(f"{TTFC.name}_count", m, 60)], "OtelagentsInterTokenStalls",
             [_annotated({**model_labels, "severity": "warning"}, "Token streams from m1 stall",
                         "Streams of m1 in job otelagents stall 1.00 times each (threshold 0.5): gaps between "
                         "output chunks exceed the stall threshold.")],
             STALLS_PER_STREAM, 1.0, rec),
        Case("stalls: none recorded is a zero, quiet", [_series(f"{TTFC.name}_count", m, 60)],
             "OtelagentsInterTokenStalls", [], STALLS_PER_STREAM, 0.0, rec),
        Case("stalled streams: one held open fires",
             [{"series": f"{STALLED.name}{{{m}}}", "values": f"1{STEPS}"}], "OtelagentsStreamsStalled",
             [_annotated({**model_labels, "severity": "warning"}, "Open streams from m1 stalled",
                         "1 open stream(s) of m1 in job otelagents have sent no output chunk for longer than the "
                         "stall threshold. Pending from the first scrape that sees it; firing after 5 minutes.")]),
        Case("stalled streams: none stays quiet", [{"series": f"{STALLED.name}{{{m}}}", "values": f"0{STEPS}"}],
             "OtelagentsStreamsStalled", []),
        Case("model errors: 10% fires",
             [_series(f"{CALLS.name}_count", m, 54), _series(f"{CALLS.name}_count", f"{m}, {err}", 6)],
             "OtelagentsModelErrorRatioHigh",
             [_annotated({**model_labels, "severity": "critical"}, "Model calls to m1 fail",
                         "10% of model calls to m1 in job otelagents ended with an error (threshold 5%).")],
             MODEL_ERRORS, 0.1, rec),
        Case("model errors: no error series is a zero, quiet", [_series(f"{CALLS.name}_count", m, 60)],
             "OtelagentsModelErrorRatioHigh", [], MODEL_ERRORS, 0.0, rec),
        Case("tool errors: 20% fires",
             [_series(f"{TOOL.name}_count", tool, 48), _series(f"{TOOL.name}_count", f"{tool}, {err}", 12)],
             "OtelagentsToolErrorRatioHigh",
             [_annotated({"job": JOB_NAME, TOOL_NAME: "search", "severity": "warning"}, "Tool search fails",
                         "20% of calls to tool search in job otelagents ended with an error (threshold 10%).")],
             TOOL_ERRORS, 0.2, f'{{{TOOL_NAME}="search", job="{JOB_NAME}"}}'),
        Case("tool errors: 5% stays quiet",
             [_series(f"{TOOL.name}_count", tool, 57), _series(f"{TOOL.name}_count", f"{tool}, {err}", 3)],
             "OtelagentsToolErrorRatioHigh", [], TOOL_ERRORS, 0.05, f'{{{TOOL_NAME}="search", job="{JOB_NAME}"}}'),
        Case("telemetry absent fires", [{"series": f"up{{{TARGET}}}", "values": f"1{STEPS}"}],
             "OtelagentsTelemetryAbsent",
             [_annotated({"severity": "warning"}, "No otelagents telemetry",
                         f"Prometheus has no {INFO} series: no otelagents process is exporting metrics, or none "
                         "is scraped. Check that telemetry is started and that the scrape config names its port.")]),
        Case("telemetry present stays quiet",
             [{"series": f'{INFO}{{{TARGET}, version="0.1.0"}}', "values": f"1{STEPS}"}],
             "OtelagentsTelemetryAbsent", []),
        Case("target down fires", [{"series": f"up{{{TARGET}}}", "values": f"0{STEPS}"}], "OtelagentsTargetDown",
             [_annotated({"job": JOB_NAME, "instance": "127.0.0.1:9464", "severity": "critical"},
                         "otelagents target 127.0.0.1:9464 is down",
                         "Prometheus cannot scrape 127.0.0.1:9464 of job otelagents: the process is down or "
                         "its metrics port is not listening.")]),
        Case("target up stays quiet", [{"series": f"up{{{TARGET}}}", "values": f"1{STEPS}"}],
             "OtelagentsTargetDown", []),
    ]


def tests_file(rules_filename: str) -> Json:
    tests = []
    for case in cases():
        test: Json = {"name": case.name, "interval": "1m", "input_series": case.series}
        if case.record:
            test["promql_expr_test"] = [{
                "expr": f"round({case.record}, 0.001)", "eval_time": "20m",
                "exp_samples": [{"labels": case.record_labels, "value": case.value}],
            }]
        # Not firing yet at 4m (the "for" holds it pending); the expected state at 20m.
        test["alert_rule_test"] = [
            {"eval_time": "4m", "alertname": case.alert, "exp_alerts": []},
            {"eval_time": "20m", "alertname": case.alert, "exp_alerts": case.firing},
        ]
        tests.append(test)
    return {"rule_files": [rules_filename], "evaluation_interval": "1m", "tests": tests}
