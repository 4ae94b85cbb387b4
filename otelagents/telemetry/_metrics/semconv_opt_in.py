"""The newest GenAI metric names, under ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``.

otelagents records today's names (the GenAI conventions as released in v1.41) and, like the official
instrumentations, keeps them by default. With ``gen_ai_latest_experimental`` in the comma-separated
``OTEL_SEMCONV_STABILITY_OPT_IN``, the exporters (``/metrics``, OTLP push, an application's
``MeterProvider``) apply this mapping to the engine's snapshots at the edge, so a metric someone adds to
``semconv.METRICS`` is renamed here the moment a newer name exists for it:

* renamed, same instrument: ``gen_ai.client.operation.duration`` -> ``gen_ai.client.inference.duration``,
  ``gen_ai.client.operation.time_to_first_chunk`` / ``time_per_output_chunk`` ->
  ``gen_ai.client.inference.*``;
* ``gen_ai.client.token.usage`` (histogram by ``gen_ai.token.type``) is replaced by the per-request
  histograms ``gen_ai.client.inference.operation.{input,output}_tokens`` (same counts and buckets, no
  ``gen_ai.token.type``) and the counters ``gen_ai.client.inference.usage.{input,output}_tokens`` (the
  histogram's sum, with ``gen_ai.token.modality="unknown"``: the providers' usage does not say);
* every other metric (otelagents' own and the agent, tool and workflow durations, unchanged upstream) keeps
  its name.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from functools import lru_cache

from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics.points import HistogramPoint, MetricSnapshot, NumberPoint
from otelagents.telemetry.semconv import MetricSpec

__all__ = ["LATEST_OPT_IN", "RENAMES", "TOKEN_METRICS", "apply_opt_in", "latest_requested"]

OPT_IN_ENV = "OTEL_SEMCONV_STABILITY_OPT_IN"
LATEST_OPT_IN = "gen_ai_latest_experimental"
GEN_AI_TOKEN_MODALITY = "gen_ai.token.modality"

RENAMES: dict[str, str] = {
    sc.METRIC_OPERATION_DURATION: "gen_ai.client.inference.duration",
    sc.METRIC_TIME_TO_FIRST_CHUNK: "gen_ai.client.inference.time_to_first_chunk",
    sc.METRIC_TIME_PER_OUTPUT_CHUNK: "gen_ai.client.inference.time_per_output_chunk",
}
# gen_ai.client.token.usage, by gen_ai.token.type: (per-request histogram, usage counter)
TOKEN_METRICS: dict[str, tuple[str, str]] = {
    sc.TOKEN_TYPE_INPUT: ("gen_ai.client.inference.operation.input_tokens",
                          "gen_ai.client.inference.usage.input_tokens"),
    sc.TOKEN_TYPE_OUTPUT: ("gen_ai.client.inference.operation.output_tokens",
                           "gen_ai.client.inference.usage.output_tokens"),
}


def latest_requested() -> bool:
    """Whether ``OTEL_SEMCONV_STABILITY_OPT_IN`` asks for the newest GenAI conventions."""
    listed = os.environ.get(OPT_IN_ENV, "")
    return LATEST_OPT_IN in (item.strip() for item in listed.split(","))


@lru_cache(maxsize=64)
def _renamed(spec: MetricSpec, name: str) -> MetricSpec:
    return MetricSpec(name, spec.kind, spec.unit, spec.description, spec.attributes, spec.buckets)


@lru_cache(maxsize=16)
def _token_specs(spec: MetricSpec, token_type: str) -> tuple[MetricSpec, MetricSpec]:
    histogram_name, counter_name = TOKEN_METRICS[token_type]
    attributes = tuple(a for a in spec.attributes if a != sc.GEN_AI_TOKEN_TYPE)
    histogram = MetricSpec(histogram_name, "histogram", spec.unit,
                           f"Number of {token_type} tokens per model call.", attributes, spec.buckets)
    counter = MetricSpec(counter_name, "counter", spec.unit, f"{token_type.capitalize()} tokens used by model calls.",
                         attributes + (GEN_AI_TOKEN_MODALITY,))
    return histogram, counter


def apply_opt_in(snapshots: Iterable[MetricSnapshot], latest: bool | None = None) -> list[MetricSnapshot]:
    """``snapshots`` with the newest names when asked for (``latest``; default, the environment)."""
    snapshots = list(snapshots)
    if not (latest_requested() if latest is None else latest):
        return snapshots
    out: list[MetricSnapshot] = []
    for snap in snapshots:
        if snap.name == sc.METRIC_TOKEN_USAGE:
            out.extend(_split_token_usage(snap))
        elif snap.name in RENAMES:
            out.append(replace(snap, spec=_renamed(snap.spec, RENAMES[snap.name])))
        else:
            out.append(snap)
    return out


def _split_token_usage(snap: MetricSnapshot) -> list[MetricSnapshot]:
    out = []
    for token_type in TOKEN_METRICS:
        histogram_spec, counter_spec = _token_specs(snap.spec, token_type)
        histograms, counters = [], []
        for point in snap.points:
            if not isinstance(point, HistogramPoint) or point.attributes.get(sc.GEN_AI_TOKEN_TYPE) != token_type:
                continue
            attributes = {k: v for k, v in point.attributes.items() if k != sc.GEN_AI_TOKEN_TYPE}
            histograms.append(replace(point, attributes=attributes))
            counters.append(NumberPoint({**attributes, GEN_AI_TOKEN_MODALITY: "unknown"}, point.sum))
        out.append(replace(snap, spec=histogram_spec, points=tuple(histograms)))
        out.append(replace(snap, spec=counter_spec, points=tuple(counters)))
    return out
