"""Recording rules that let the dashboards and alerts read processes on the newest GenAI metric names.

A process with ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`` exposes the newest names
(``otelagents.telemetry._metrics.semconv_opt_in``). These rules record each of those series back under
today's name, with the same labels, so every panel and alert works with either naming without a switch:

* a renamed histogram: ``old_bucket`` / ``old_sum`` / ``old_count`` <- the new name's series;
* the token-usage split: ``gen_ai_client_token_usage_*`` <- ``gen_ai_client_inference_operation_*_tokens_*``
  with ``gen_ai_token_type`` put back by ``label_replace``.

A process on today's names has no such series, so the rules record nothing for it (no double count). The
recorded series move at the evaluation interval and carry no exemplars. Built from the opt-in mapping, so a
rename added there is covered here.
"""

from __future__ import annotations

from typing import Any

from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics.semconv_opt_in import RENAMES, TOKEN_METRICS

Json = dict[str, Any]
GROUP = "otelagents-semconv-latest"
PARTS = ("_bucket", "_sum", "_count")


def _prometheus(name: str, like: str) -> str:
    spec = sc.METRICS_BY_NAME[like]
    return sc.prometheus_name(name, spec.unit, spec.kind)


Source = tuple[str, str | None]  # (newest-name series, gen_ai.token.type to put back or None)


def sources() -> dict[str, list[Source]]:
    """Today's series name -> the newest-name series recorded under it, for every series part."""
    out: dict[str, list[Source]] = {}
    for old, new in RENAMES.items():
        if sc.METRICS_BY_NAME[old].kind != "histogram":
            continue
        for part in PARTS:
            out[_prometheus(old, old) + part] = [(_prometheus(new, old) + part, None)]
    old_usage = _prometheus(sc.METRIC_TOKEN_USAGE, sc.METRIC_TOKEN_USAGE)
    for token_type, (histogram, _counter) in TOKEN_METRICS.items():
        for part in PARTS:
            out.setdefault(old_usage + part, []).append(
                (_prometheus(histogram, sc.METRIC_TOKEN_USAGE) + part, token_type))
    return out


def _expr(source: Source) -> str:
    series, token_type = source
    if token_type is None:
        return series
    return f'label_replace({series}, "{sc.prometheus_label(sc.GEN_AI_TOKEN_TYPE)}", "{token_type}", "", "")'


def rules_file() -> Json:
    rules = [{"record": record, "expr": " or ".join(_expr(s) for s in found)} for record, found in sources().items()]
    return {"groups": [{"name": GROUP, "rules": rules}]}


def tests_file(rules_filename: str) -> Json:
    """One promtool test: each newest-name series shows up under today's name, with its value and labels."""
    token_label = sc.prometheus_label(sc.GEN_AI_TOKEN_TYPE)
    series, expected = [], []
    labels = {"job": "otelagents", "instance": "app:9464", "gen_ai_request_model": "m"}
    index = 0
    for record, found in sources().items():
        samples = []
        for source, token_type in found:
            index += 1
            want = dict(labels, le="+Inf") if record.endswith("_bucket") else dict(labels)
            series.append({"series": _selector(source, want), "values": f"0+{index}x10"})
            if token_type is not None:
                want[token_label] = token_type
            samples.append({"labels": _selector(record, want), "value": 5 * index})
        expected.append({"expr": record, "eval_time": "5m", "exp_samples": samples})
    return {"rule_files": [rules_filename], "evaluation_interval": "1m",
            "tests": [{"name": "newest names read as today's", "interval": "1m", "input_series": series,
                       "promql_expr_test": expected}]}


def _selector(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
