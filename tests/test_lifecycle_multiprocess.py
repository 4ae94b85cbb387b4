"""Production lifecycle (issue 15): one ``/metrics`` for several worker processes (``metrics_dir``).

The merge is checked on real engines and files; the end-to-end runs are in ``test_lifecycle_workers``."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics import Exemplar, HistogramPoint, MetricsEngine, MetricsServer, NumberPoint
from otelagents.telemetry._metrics.multiprocess import MultiprocessSource, SnapshotWriter

TTFT = sc.METRIC_TIME_TO_FIRST_TOKEN
ATTRS = {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_REQUEST_MODEL: "m"}


def engine_with(ttfts: list[float], errors: int, open_streams: int) -> MetricsEngine:
    engine = MetricsEngine()
    for i, value in enumerate(ttfts):
        engine.histogram(TTFT).record(value, ATTRS, Exemplar(i + 1, i + 1))
    if errors:
        engine.counter(sc.METRIC_ERRORS).add(errors, {sc.ERROR_TYPE: "Boom"})
    engine.gauge(sc.METRIC_STREAMS_OPEN).set(open_streams)
    engine.gauge(sc.METRIC_INFO).set(1, {sc.INFO_VERSION: "0.1.0"})
    return engine


def by_name(source: MultiprocessSource) -> dict[str, tuple[HistogramPoint | NumberPoint, ...]]:
    return {snap.spec.name: snap.points for snap in source.collect()}


def test_histograms_and_counters_add_up_over_processes(tmp_path: Path) -> None:
    one = SnapshotWriter(engine_with([0.1, 0.2], errors=1, open_streams=2), tmp_path).start()
    two = SnapshotWriter(engine_with([0.3], errors=2, open_streams=1), tmp_path).start()
    try:
        merged = by_name(MultiprocessSource(tmp_path))
    finally:
        one.stop()
        two.stop()
    (ttft,) = merged[TTFT]
    assert isinstance(ttft, HistogramPoint)
    assert ttft.count == 3 and ttft.sum == pytest.approx(0.6)
    assert (ttft.min, ttft.max) == (0.1, 0.3)
    assert sum(ttft.bucket_counts) == 3
    assert {e.trace_id for e in ttft.exemplars if e is not None} <= {1, 2}
    (errors,) = merged[sc.METRIC_ERRORS]
    assert isinstance(errors, NumberPoint) and errors.value == 3
    (streams,) = merged[sc.METRIC_STREAMS_OPEN]
    assert isinstance(streams, NumberPoint) and streams.value == 3  # both writers live in this process
    (info,) = merged[sc.METRIC_INFO]
    assert isinstance(info, NumberPoint) and info.value == 1  # the same everywhere: taken once


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, timeout=60, check=True)
    return int(done.stdout)


def test_an_exited_process_keeps_its_counts_but_not_its_gauges(tmp_path: Path) -> None:
    writer = SnapshotWriter(engine_with([0.5], errors=1, open_streams=4), tmp_path)
    assert writer.write_now()
    data = json.loads(writer.path.read_text())
    data["pid"] = dead_pid()
    writer.path.write_text(json.dumps(data))
    merged = by_name(MultiprocessSource(tmp_path))
    assert merged[TTFT][0].count == 1  # type: ignore[union-attr]
    assert merged[sc.METRIC_ERRORS][0].value == 1  # type: ignore[union-attr]
    assert merged[sc.METRIC_STREAMS_OPEN] == ()  # nothing is open in a process that is gone


def test_an_empty_or_missing_directory_and_a_half_written_file(tmp_path: Path) -> None:
    assert all(snap.points == () for snap in MultiprocessSource(tmp_path / "absent").collect())
    (tmp_path / "x.otelagents-metrics.json").write_text('{"pid": 1, "metr')
    assert all(snap.points == () for snap in MultiprocessSource(tmp_path).collect())


def test_served_merged_on_metrics(tmp_path: Path) -> None:
    writers = [SnapshotWriter(engine_with([0.1] * n, errors=0, open_streams=0), tmp_path).start()
               for n in (2, 5)]
    try:
        with MetricsServer(MultiprocessSource(tmp_path), port=0) as server:
            body = urllib.request.urlopen(server.url, timeout=10).read().decode()
    finally:
        for writer in writers:
            writer.stop()
    prom = sc.METRICS_BY_NAME[TTFT].prometheus_name
    count = next(line for line in body.splitlines() if line.startswith(f"{prom}_count"))
    assert float(count.rsplit(" ", 1)[1]) == 7


def test_a_writer_keeps_its_file_current_and_says_when_it_cannot_write(tmp_path: Path) -> None:
    engine = engine_with([0.1], errors=0, open_streams=0)
    writer = SnapshotWriter(engine, tmp_path, interval_s=0.05).start()
    engine.histogram(TTFT).record(0.2, ATTRS)
    assert writer.stop()
    assert by_name(MultiprocessSource(tmp_path))[TTFT][0].count == 2  # type: ignore[union-attr]
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    assert SnapshotWriter(engine, blocked).write_now() is False
    with pytest.raises(ValueError, match="positive"):
        SnapshotWriter(engine, tmp_path, interval_s=0)
