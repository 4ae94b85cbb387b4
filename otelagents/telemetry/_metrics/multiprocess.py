"""Several worker processes, one ``/metrics``: as ``prometheus_client``'s multiprocess mode.

Each process writes its engine's cumulative snapshot to a file of its own in a shared directory, every
``interval_s`` and when it stops (:class:`SnapshotWriter`); the process that serves ``/metrics`` merges
every file at each scrape (:class:`MultiprocessSource`). Histograms and counters are summed per attribute
set, so they keep counting across workers that exited or were restarted; gauges (streams open, streams
stalled) are summed over live processes only; ``otelagents.info`` is the same everywhere and is taken
once. Exemplars: per bucket, the most recent one of any process.

What a scrape shows lags each worker by at most ``interval_s``. Empty the directory when the server
(re)starts, as with ``prometheus_client``: files left from an earlier deployment would be counted again.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from otelagents.telemetry import semconv
from otelagents.telemetry._metrics.engine import MetricsEngine
from otelagents.telemetry._metrics.points import (
    AttrValue,
    ExemplarSample,
    HistogramPoint,
    MetricSnapshot,
    NumberPoint,
)
from otelagents.telemetry.semconv import MetricSpec

__all__ = ["MultiprocessSource", "SnapshotWriter"]

logger = logging.getLogger(__name__)

_SUFFIX = ".otelagents-metrics.json"
Key = tuple[tuple[str, AttrValue], ...]


def _exemplar(sample: ExemplarSample | None) -> list[float] | None:
    if sample is None:
        return None
    return [sample.value, sample.trace_id, sample.span_id, sample.time_unix_nano]


def _sample(raw: Sequence[Any] | None) -> ExemplarSample | None:
    if raw is None:
        return None
    return ExemplarSample(float(raw[0]), int(raw[1]), int(raw[2]), int(raw[3]))


def _dump_point(point: HistogramPoint | NumberPoint) -> dict[str, Any]:
    attrs = sorted(point.attributes.items())
    if isinstance(point, HistogramPoint):
        return {"a": attrs, "bd": list(point.bounds), "b": list(point.bucket_counts), "c": point.count, "s": point.sum,
                "min": point.min, "max": point.max, "e": [_exemplar(e) for e in point.exemplars]}
    return {"a": attrs, "v": point.value, "e": _exemplar(point.exemplar)}


def dump(snapshots: Iterable[MetricSnapshot]) -> dict[str, Any]:
    return {"pid": os.getpid(), "metrics": {s.spec.name: [_dump_point(p) for p in s.points] for s in snapshots}}


class SnapshotWriter:
    """Writes one process's engine to ``directory`` every ``interval_s`` (and on :meth:`stop`)."""

    def __init__(self, engine: MetricsEngine, directory: str | os.PathLike[str], interval_s: float = 1.0) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be a positive number of seconds, not {interval_s!r}")
        self.engine = engine
        self.directory = Path(directory)
        self.interval_s = interval_s
        self.path = self.directory / f"{os.getpid()}-{uuid.uuid4().hex[:12]}{_SUFFIX}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SnapshotWriter:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.write_now()
        self._thread = threading.Thread(target=self._loop, name="otelagents-metrics-writer", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.write_now()

    def write_now(self) -> bool:
        """Write the snapshot atomically (a reader never sees half a file). Never raises."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(dump(self.engine.collect())))
            os.replace(tmp, self.path)
        except (OSError, ValueError) as exc:
            logger.warning("otelagents metrics: cannot write %s (%s); check that the metrics directory is "
                           "writable", self.path, exc)
            return False
        return True

    def stop(self, timeout_s: float = 1.0) -> bool:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(max(timeout_s, 0.0))
        return self.write_now()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Merged:
    """One metric's series, merged across processes."""

    def __init__(self, spec: MetricSpec) -> None:
        self.spec = spec
        self.points: dict[Key, dict[str, Any]] = {}

    def add(self, raw: dict[str, Any]) -> None:
        key: Key = tuple((str(k), v) for k, v in raw["a"])
        have = self.points.get(key)
        if have is None:
            self.points[key] = {**raw, "b": list(raw.get("b", [])), "e": _copy(raw["e"])}
            return
        if self.spec.kind == "histogram":
            if have["bd"] != raw["bd"]:  # another version's buckets: cannot be added up
                return
            have["b"] = [x + y for x, y in zip(have["b"], raw["b"], strict=True)]
            have["c"] += raw["c"]
            have["s"] += raw["s"]
            have["min"] = _nan_min(have["min"], raw["min"])
            have["max"] = _nan_max(have["max"], raw["max"])
            have["e"] = [_later(a, b) for a, b in zip(have["e"], raw["e"], strict=True)]
        elif self.spec.name == semconv.METRIC_INFO:
            return
        else:
            have["v"] += raw["v"]
            have["e"] = _later(have["e"], raw["e"])

    def snapshot(self, start: int, now: int) -> MetricSnapshot:
        points: list[HistogramPoint | NumberPoint] = []
        for key, raw in self.points.items():
            attributes = dict(key)
            if self.spec.kind == "histogram":
                points.append(HistogramPoint(attributes, tuple(float(b) for b in raw["bd"]),
                                             tuple(raw["b"]), raw["c"], raw["s"], raw["min"], raw["max"],
                                             tuple(_sample(e) for e in raw["e"])))
            else:
                points.append(NumberPoint(attributes, raw["v"], _sample(raw["e"])))
        return MetricSnapshot(self.spec, start, now, tuple(points))


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _later(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return b if b[3] > a[3] else a


def _nan_min(a: float, b: float) -> float:
    return b if math.isnan(a) else a if math.isnan(b) else min(a, b)


def _nan_max(a: float, b: float) -> float:
    return b if math.isnan(a) else a if math.isnan(b) else max(a, b)


class MultiprocessSource:
    """Merges the snapshot files in ``directory``; has the engine's ``collect()``, for ``MetricsServer``."""

    def __init__(self, directory: str | os.PathLike[str], specs: Sequence[MetricSpec] = semconv.METRICS) -> None:
        self.directory = Path(directory)
        self.specs = {spec.name: spec for spec in specs}
        self.start_time_unix_nano = time.time_ns()

    def _files(self) -> list[dict[str, Any]]:
        loaded = []
        for path in sorted(self.directory.glob("*" + _SUFFIX)):
            try:
                loaded.append(json.loads(path.read_text()))
            except (OSError, ValueError):  # vanished or being replaced: the next scrape reads it
                continue
        return loaded

    def collect(self) -> list[MetricSnapshot]:
        merged = {name: _Merged(spec) for name, spec in self.specs.items()}
        for data in self._files():
            alive = _alive(int(data.get("pid", 0)))
            for name, points in data.get("metrics", {}).items():
                target = merged.get(name)
                if target is None or (target.spec.kind == "gauge" and name != semconv.METRIC_INFO and not alive):
                    continue
                for raw in points:
                    target.add(raw)
        now = time.time_ns()
        return [m.snapshot(self.start_time_unix_nano, now) for m in merged.values()]
