"""``python -m benchmarks --quick`` runs end to end and prints the whole table.

This proves the command works (tiny sizes, one round); it asserts no speed: speed is measured by the
benchmarks, never asserted in tests. It does assert what must hold at any speed: every row is printed,
every row that needs only otelagents has a value, the scale runs all succeed with one complete trace each,
and the accuracy section reads the server's own send times.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Every figure the table must show, in order (the start of each row's "Figure" cell).
FIGURES = [
    "events/s, raw floor (httpx + json.loads)",
    "events/s, otelagents, telemetry off",
    "events/s, otelagents, full telemetry",
    "events/s, openai-agents SDK, tracing off",
    "events/s, openai-agents SDK + OpenInference OTel",
    "events/s, openai-agents SDK + otelagents plugin",
    "ratio ours full / SDK tracing off",
    "ratio ours full / SDK + OTel",
    "ratio ours off / SDK tracing off",
    "ratio full / off (ours) (",
    "ratio full / off (ours), events per CPU second",
    "ratio SDK + otelagents plugin / SDK tracing off, events per CPU second",
    "ratio ours off / floor",
    "ratio ours full / floor",
    "µs per chunk, ours: full - off",
    "µs per chunk, SDK: OTel - tracing off",
    "µs per chunk, SDK: otelagents plugin - tracing off",
    "µs per text delta, hot path alone",
    "µs CPU per event, SDK plugin's layers alone",
    "time to first token abs error, median / max (ms)",
    "mean chunk gap abs error, median / max (ms)",
    "concurrent streamed runs (peak in flight)",
    "wall time (s), ours (raw httpx floor)",
    "peak RSS (MiB) / per run (KiB)",
    "spans / traces exported",
    "complete traces, one trace per run",
    "failed runs",
    "time to first token: max relative error",
    "time to first token: series per label set",
    "chunk gap: max relative error",
    "chunk gap: series per label set",
    "events/s, otelagents, default telemetry, no SDK configured",
    "events/s, otelagents, telemetry disabled (tracing_disabled=True)",
    "events/s, otelagents, default telemetry, application's SDK providers",
    "events/s, otelagents, application's SDK providers set, telemetry off",
    "events/s, otelagents, pure-Python helpers, default telemetry over the application's SDK providers",
    "events/s, otelagents, application's SDK providers, one SDK record() per value",
    "ratio default with no SDK configured / disabled (",
    "ratio default with no SDK configured / disabled, events per CPU second",
    "ratio application's SDK providers: full / off (",
    "ratio application's SDK providers: full / off, events per CPU second",
    "ratio application's SDK providers, pure-Python helpers (no C compiler): full / off",
    "ratio application's SDK providers, record() per value / off",
    "ratio setup(): full / off (",
    "ratio setup(): full / off, events per CPU second",
    "instructions per run, application's SDK providers, telemetry off",
    "instructions per run, default telemetry over the application's SDK providers",
    "instructions per run, setup()'s Telemetry (exporters left out)",
    "instructions per run, telemetry off, measured again last",
    "ratio application's SDK providers: full / off, by instructions",
    "ratio setup(): full / off, by instructions",
]
# Rows that need valgrind (callgrind counts the instructions): n/a without it, outside CI only.
VALGRIND_FIGURES = set(FIGURES[-6:])
# Rows that depend on the optional openai-agents SDK (the `bench` extra); all others need only otelagents.
SDK_FIGURES = {FIGURES[i] for i in (3, 4, 5, 6, 7, 8)} | {
    "µs per chunk, SDK: OTel - tracing off", "µs per chunk, SDK: otelagents plugin - tracing off",
    "µs CPU per event, SDK plugin's layers alone",
    "ratio SDK + otelagents plugin / SDK tracing off, events per CPU second"}


def _rows(stdout: str) -> dict[str, list[str]]:
    """Table rows by figure: {figure: [section, figure, value, target, status]}."""
    rows: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        if not line.startswith("| ") or line.startswith("| Section"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        for figure in FIGURES:
            if cells[1].startswith(figure):
                assert figure not in rows, f"row {figure!r} printed twice"
                rows[figure] = cells
    return rows


@pytest.mark.timeout(420)
def test_quick_run_prints_every_row_with_values(tmp_path: Path) -> None:
    if shutil.which("valgrind") is None and os.environ.get("CI") == "true":
        pytest.fail("valgrind not installed (apt-get install valgrind); CI=true requires it")
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=400, check=False)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    rows = _rows(done.stdout)
    # The header says which helpers ran; CI builds the compiled ones (a C compiler is there).
    assert "compiled helpers (otelagents._speedups)" in done.stdout or os.environ.get("CI") != "true", done.stdout[:500]
    assert list(rows) == FIGURES, f"missing rows: {[f for f in FIGURES if f not in rows]}\n{done.stdout}"

    sdk_installed = "not importable" not in rows[FIGURES[3]][2]
    has_valgrind = shutil.which("valgrind") is not None
    for figure, (_section, _figure, value, _target, status) in rows.items():
        if (figure in SDK_FIGURES and not sdk_installed) or (figure in VALGRIND_FIGURES and not has_valgrind):
            assert value.startswith("n/a"), (figure, value)
            continue
        assert not value.startswith("n/a"), f"{figure}: {value}"
        assert status in ("", "ok", "MISSED"), f"{figure}: status {status!r}"

    # Correctness holds at any speed: all scale runs succeed, each with one complete trace.
    assert rows["failed runs"][4] == "ok", rows["failed runs"]
    assert rows["spans / traces exported"][4] == "ok", rows["spans / traces exported"]
    assert rows["complete traces, one trace per run"][4] == "ok", rows["complete traces, one trace per run"]

    report = json.loads(out.read_text())
    for figure in ("time to first token: max relative error", "chunk gap: max relative error"):
        assert rows[figure][4] == "ok", rows[figure]  # a bucket layout property, not a speed
    assert set(report["results"]) == {"throughput", "hot_path", "accuracy", "scale", "resolution", "default",
                                      "instructions"}
    if has_valgrind:  # four phases counted, each a whole streamed run's worth (far above the start-up noise)
        per_run = report["results"]["instructions"]["per_run"]
        assert set(per_run) == {"off", "app_default", "setup", "off_again"}, report["results"]["instructions"]
        assert all(count > 1e6 for count in per_run.values()), per_run
        assert rows["ratio setup(): full / off, by instructions"][4] in ("ok", "MISSED")
    assert report["results"]["accuracy"]["truth"] == "server send times"
    samples = report["results"]["throughput"]["samples"]
    assert all(len(s) == 1 and s[0]["events"] > 200 for s in samples.values()), samples  # 200 deltas + framing
    # The telemetry ratios come from paired single runs (--pairs, 3 with --quick), with a confidence interval.
    pairs = report["results"]["throughput"]["pairs"]
    assert pairs["rounds"] == 3 and set(pairs["samples"]) == {"ours_off", "ours_full"}, pairs
    assert all(len(runs) == 3 and runs[0][0] > 200 for runs in pairs["samples"].values()), pairs
    sdk_pairs = report["results"]["throughput"]["sdk_pairs"]
    if sdk_installed:
        assert set(sdk_pairs["samples"]) == {"sdk_off", "sdk_plugin"}, sdk_pairs
        assert all(len(runs) == 3 for runs in sdk_pairs["samples"].values()), sdk_pairs
    assert all(len(runs) == 3 for runs in report["results"]["default"]["samples"].values())
    assert re.fullmatch(r"\d\.\d{3}x \[\d\.\d{3}, \d\.\d{3}\]", rows["ratio full / off (ours) ("][2])
