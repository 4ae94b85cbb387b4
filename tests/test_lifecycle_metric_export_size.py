"""Metric exports stay under the OTLP message limit: a collector's gRPC receiver refuses requests over 4 MiB
(``RESOURCE_EXHAUSTED``), and a refused export loses every series in it.

A histogram series of the chunk-gap metric, with an exemplar in each of its 111 buckets, encodes to ~7 KiB;
at the engine's bound of 500 series per metric, two such metrics make ~7 MiB of one collection. ``setup()``
installs global providers, so this runs in a fresh process against the real OTLP receiver."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from otelagents.telemetry import semconv as sc
from otelagents.testing.otlp import OTLPReceiver

ROOT = Path(__file__).resolve().parent.parent
SERIES = 500

SCRIPT = textwrap.dedent("""
    import json, sys
    from otelagents.telemetry import setup, semconv as sc
    from otelagents.telemetry._metrics.points import Exemplar

    endpoint, protocol, series = sys.argv[1], sys.argv[2], int(sys.argv[3])
    handle = setup(otlp_endpoint=endpoint, otlp_protocol=protocol, prometheus=False, instrument=False,
                   metrics_interval_s=3600)
    for name in (sc.METRIC_TIME_PER_OUTPUT_CHUNK, sc.METRIC_TIME_TO_FIRST_TOKEN):
        spec = handle.engine.specs[name]
        values = [b * 0.999 for b in spec.buckets] + [spec.buckets[-1] * 2]  # one value in every bucket
        for i in range(series):
            bound = handle.engine.histogram(name).bind({sc.GEN_AI_AGENT_NAME: f"agent-{i}"})
            for j, value in enumerate(values):  # each bucket keeps its own exemplar
                bound.record(value, Exemplar(trace_id=(i << 64) + j + 1, span_id=j + 1))
    print(json.dumps({"flushed": handle.force_flush(30)}))
    handle.shutdown(timeout_s=10)
""")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_a_collection_over_4_mib_reaches_the_collector_whole(otlp_receiver: OTLPReceiver, protocol: str) -> None:
    endpoint = otlp_receiver.grpc_endpoint if protocol == "grpc" else otlp_receiver.http_endpoint
    done = subprocess.run([sys.executable, "-c", SCRIPT, endpoint, protocol, str(SERIES)], cwd=ROOT,
                          capture_output=True, text=True, timeout=100, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"flushed": True}, done.stderr[-3000:]
    assert len(otlp_receiver.raw_bytes()) > 4 * 1024 * 1024  # the collection really was over the limit
    for name in (sc.METRIC_TIME_PER_OUTPUT_CHUNK, sc.METRIC_TIME_TO_FIRST_TOKEN):
        points = [p for m in otlp_receiver.metrics() if m.name == name for p in m.data_points]
        agents = {p.attributes[sc.GEN_AI_AGENT_NAME] for p in points}
        assert len(agents) == SERIES, (name, len(agents))
        assert all(len(p.exemplars) == len(p.bucket_counts) for p in points), name  # nothing cut from a point
