"""From raw request records to the figures of a load level, and the files a profile leaves behind.

``DIR/results.json`` holds one entry per load level (schema: :data:`~otelagents.profile._schema.SCHEMA`);
``DIR/requests.jsonl`` holds every request's raw record, one JSON object a line, for your own analysis.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from otelagents.exceptions import UserError

from ._driver import LevelRun, RequestRecord
from ._stats import summarize

RESULTS_FILE = "results.json"
RECORDS_FILE = "requests.jsonl"
REPORT_FILE = "report.html"
SCHEMA_ID = "otelagents.profile/v1"
SLO_METRICS: dict[str, str] = {
    "ttft": "time to first token of the first model call",
    "ttfv": "time to the first visible text of the run",
    "itl": "mean gap between output chunks of the request",
    "tpot": "time per output token after the first",
    "e2e": "end-to-end latency of the request",
}
SLOWEST = 10


def parse_slo(text: str) -> dict[str, float]:
    """``ttft=0.5,itl=0.05`` (seconds) as a mapping; raises ``UserError`` on anything else."""
    slo: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in SLO_METRICS:
            raise UserError(f"--slo {text!r}: expected NAME=SECONDS pairs separated by commas, with NAME one of "
                            f"{', '.join(SLO_METRICS)} (e.g. ttft=0.5,itl=0.05)")
        try:
            seconds = float(value)
        except ValueError:
            raise UserError(f"--slo {name}={value!r}: the limit is a number of seconds, e.g. {name}=0.5") from None
        if not (seconds > 0 and math.isfinite(seconds)):
            raise UserError(f"--slo {name}={value}: the limit must be a positive number of seconds")
        slo[name] = seconds
    if not slo:
        raise UserError(f"--slo {text!r} names no limit; e.g. --slo ttft=0.5,itl=0.05")
    return slo


def slo_value(record: RequestRecord, name: str) -> float | None:
    if name == "itl":
        return math.fsum(record.itl_s) / len(record.itl_s) if record.itl_s else None
    value: float | None = {"ttft": record.ttft_s, "ttfv": record.ttfv_s, "tpot": record.tpot_s,
                           "e2e": record.e2e_s}[name]
    return value


def meets(record: RequestRecord, slo: Mapping[str, float]) -> bool:
    """A request is good when it succeeded and every limit holds. A request without a first token (or
    visible text) misses a ``ttft`` (``ttfv``) limit; one with fewer than two chunks has no gap or decode
    time, so ``itl`` and ``tpot`` cannot fail for it."""
    if not record.ok:
        return False
    for name, limit in slo.items():
        value = slo_value(record, name)
        if value is None:
            if name in ("ttft", "ttfv"):
                return False
            continue
        if value > limit:
            return False
    return True


def level_summary(level: LevelRun, slo: Mapping[str, float] | None) -> dict[str, Any]:
    """One entry of ``results.json``'s ``runs``: exact figures over the level's successful requests."""
    records = level.records
    ok = [r for r in records if r.ok]
    duration = level.duration_s
    tokens = sum(r.output_tokens for r in ok)
    errors = Counter(r.error for r in records if r.error is not None)
    summary: dict[str, Any] = {
        "concurrency": level.concurrency,
        "rate": level.rate,
        "requests": len(records),
        "completed": len(ok),
        "errors": len(records) - len(ok),
        "errors_by_type": dict(sorted(errors.items())),
        "duration_s": duration,
        "requests_per_s": len(ok) / duration if duration > 0 else None,
        "output_tokens": tokens,
        "output_tokens_per_s": tokens / duration if duration > 0 else None,
        "ttft_s": summarize([r.ttft_s for r in ok if r.ttft_s is not None]),
        "ttfv_s": summarize([r.ttfv_s for r in ok if r.ttfv_s is not None]),
        "itl_s": summarize([gap for r in ok for gap in r.itl_s]),
        "tpot_s": summarize([r.tpot_s for r in ok if r.tpot_s is not None]),
        "e2e_s": summarize([r.e2e_s for r in ok]),
        "goodput": None,
        "slowest": [_slow(r) for r in slowest(records, 5)],
    }
    if slo:
        good = sum(meets(r, slo) for r in records)
        summary["goodput"] = {"slo": dict(slo), "requests": good,
                              "requests_per_s": good / duration if duration > 0 else None,
                              "fraction": good / len(records) if records else None}
    return summary


def slowest(records: Sequence[RequestRecord], count: int = SLOWEST) -> list[RequestRecord]:
    return sorted(records, key=lambda r: r.e2e_s, reverse=True)[:count]


def _slow(record: RequestRecord) -> dict[str, Any]:
    return {"index": record.index, "e2e_s": record.e2e_s, "ttft_s": record.ttft_s, "error": record.error,
            "trace_id": record.trace_id}


@dataclass(frozen=True)
class Profile:
    """A finished (or loaded) profile: the ``results.json`` document and the raw records."""

    document: dict[str, Any]
    records: list[dict[str, Any]]

    @property
    def runs(self) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = self.document["runs"]
        return runs


def build_document(target: Mapping[str, Any], settings: Mapping[str, Any],
                   runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schema": SCHEMA_ID, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "target": dict(target), "settings": dict(settings), "records_file": RECORDS_FILE, "runs": runs}


def write(directory: Path, profile: Profile) -> None:
    """Write ``results.json`` and ``requests.jsonl`` into ``directory`` (created when missing)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / RESULTS_FILE).write_text(json.dumps(profile.document, indent=2) + "\n", encoding="utf-8")
        with (directory / RECORDS_FILE).open("w", encoding="utf-8") as out:
            for record in profile.records:
                out.write(json.dumps(record) + "\n")
    except OSError as exc:
        raise UserError(f"cannot write the results to {directory}: {exc.strerror or exc}; choose another "
                        "--output folder") from exc


def load(directory: Path) -> Profile:
    """Read a results folder written by :func:`write` (the raw records are optional)."""
    path = directory / RESULTS_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{directory} holds no {RESULTS_FILE}: give a folder written by otelagents profile "
                        "--output") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from exc
    if not isinstance(document, dict) or document.get("schema") != SCHEMA_ID:
        raise UserError(f"{path} is not an otelagents profile result (expected \"schema\": \"{SCHEMA_ID}\")")
    records: list[dict[str, Any]] = []
    raw = directory / RECORDS_FILE
    if raw.exists():
        with raw.open(encoding="utf-8") as lines:
            records = [json.loads(line) for line in lines if line.strip()]
    return Profile(document, records)
