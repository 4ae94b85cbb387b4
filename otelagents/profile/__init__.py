"""Token-stream latency profiling of an OpenAI-compatible endpoint, with agent workloads.

``otelagents profile`` (see ``otelagents.cli``) runs a workload at one or more concurrency levels through
the runner with telemetry on, and computes from per-chunk timestamps, exactly (not from histogram
buckets): time to first token, time to the first visible text of the run, every inter-chunk gap, time per
output token and end-to-end latency (p50/p90/p95/p99/mean/max), requests/s, output tokens/s, errors by
type and goodput under SLOs. It writes ``results.json`` (schema in :mod:`otelagents.profile._schema`),
the raw ``requests.jsonl`` and a self-contained ``report.html`` (needs the ``profile`` extra); ``--compare``
puts two such folders side by side, in a table and in ``compare.html``.
"""

from __future__ import annotations

from ._results import Profile, load, parse_slo
from ._run import ProfileOptions, profile
from ._schema import RECORD, SCHEMA
from ._workload import Endpoint, Workload, workload

__all__ = ["RECORD", "SCHEMA", "Endpoint", "Profile", "ProfileOptions", "Workload", "load", "parse_slo", "profile",
           "workload"]
