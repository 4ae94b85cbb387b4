"""Spec checks and instrument look-up shared by the metrics engine and the OpenTelemetry-API sink."""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import pairwise
from typing import TypeVar

from otelagents.telemetry.semconv import MetricSpec

__all__ = ["check_buckets", "find_instrument"]


def check_buckets(spec: MetricSpec) -> None:
    bounds = spec.buckets
    if spec.kind != "histogram":
        return
    if not bounds or any(not math.isfinite(b) for b in bounds) or any(
            a >= b for a, b in pairwise(bounds)):
        raise ValueError(f"histogram {spec.name!r} needs finite, strictly increasing bucket bounds; "
                         f"got {bounds!r}")


_T = TypeVar("_T")


def find_instrument(instruments: Mapping[str, _T], specs: Mapping[str, MetricSpec], name: str, kind: str) -> _T:
    """``instruments[name]`` if it is a ``kind``; otherwise a ValueError naming the metrics that exist."""
    spec = specs.get(name)
    if spec is None:
        known = sorted(n for n, s in specs.items() if s.kind == kind)
        raise ValueError(f"unknown {kind} {name!r}; the {kind}s defined are {known}. New metrics are "
                         "defined by adding a MetricSpec to semconv.METRICS.")
    if spec.kind != kind:
        raise ValueError(f"{name!r} is a {spec.kind}, not a {kind}: use .{spec.kind}({name!r})")
    return instruments[name]
