"""What the profiler prints: a live progress bar on stderr and a table per load level (and per compare)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from time import monotonic
from typing import Any, TextIO

_BAR = 24


class Progress:
    """A progress bar on ``stream``: redrawn in place on a terminal (at most every 0.1 s), otherwise a line
    each time another ``1/lines`` of the total is done. Serves ``otelagents profile`` (requests per load
    level) and ``otelagents demo``'s load mode (runs)."""

    def __init__(self, total: int, stream: TextIO, *, label: str = "", unit: str = "requests",
                 rate_unit: str = "req/s", lines: int = 4) -> None:
        self.prefix = f"{label} " if label else ""
        self.unit = unit
        self.rate_unit = rate_unit
        self.total = total
        self.lines = max(lines, 1)
        self.stream = stream
        self.done = 0
        self.failed = 0
        self._tty = bool(getattr(stream, "isatty", lambda: False)())
        self._started = monotonic()
        self._drawn_at = 0.0
        self._last_step = 0

    def advance(self, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        finished = self.done == self.total
        if self._tty:
            now = monotonic()
            if now - self._drawn_at >= 0.1 or finished:
                self._drawn_at = now
                self._write("\r" + self.render() + ("\n" if finished else ""))
            return
        step = self.done * self.lines // max(self.total, 1)
        if step != self._last_step:
            self._last_step = step
            self._write(self.render() + "\n")

    def render(self) -> str:
        filled = min(self.done * _BAR // max(self.total, 1), _BAR)
        elapsed = max(monotonic() - self._started, 1e-9)
        return (f"{self.prefix}[{'#' * filled}{'-' * (_BAR - filled)}] {self.done}/{self.total} {self.unit}  "
                f"{self.failed} errors  {self.done / elapsed:.1f} {self.rate_unit}")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def ms(value: Any) -> str:
    return "-" if value is None else f"{value * 1000:,.1f}"


def rate(value: Any) -> str:
    return "-" if value is None else f"{value:,.1f}"


HEADER = ("conc", "req", "err", "req/s", "tok/s", "TTFT p50", "TTFT p99", "TTFV p50", "ITL p50", "ITL p99",
          "TPOT p50", "E2E p50", "E2E p99", "goodput")


def run_row(run: Mapping[str, Any]) -> tuple[str, ...]:
    goodput = run.get("goodput")
    good = "-" if not goodput else f"{goodput['requests']}/{run['requests']}"
    return (str(run["concurrency"]), str(run["requests"]), str(run["errors"]), rate(run["requests_per_s"]),
            rate(run["output_tokens_per_s"]), ms(run["ttft_s"]["p50"]), ms(run["ttft_s"]["p99"]),
            ms(run["ttfv_s"]["p50"]), ms(run["itl_s"]["p50"]), ms(run["itl_s"]["p99"]), ms(run["tpot_s"]["p50"]),
            ms(run["e2e_s"]["p50"]), ms(run["e2e_s"]["p99"]), good)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Right-aligned columns under ``header``, two spaces apart."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return ["  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in (header, *rows)]


def runs_table(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The results table (latencies in ms): one row per load level."""
    return table(HEADER, [run_row(run) for run in runs])


_COMPARED = (("TTFT p50", "ttft_s", "p50"), ("TTFT p99", "ttft_s", "p99"), ("TTFV p50", "ttfv_s", "p50"),
             ("ITL p50", "itl_s", "p50"),
             ("ITL p99", "itl_s", "p99"), ("E2E p50", "e2e_s", "p50"), ("E2E p99", "e2e_s", "p99"))


def _change(a: float | None, b: float | None) -> str:
    if a is None or b is None or a == 0:
        return "-"
    return f"{(b - a) / a * 100:+.0f}%"


COMPARE_HEADER = ("conc", "figure", "A", "B", "change")


def compare_table(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]) -> list[str]:
    """A row per figure and load level present in both A and B: A, B and the relative change."""
    return table(COMPARE_HEADER, compare_rows(a, b))


def compare_rows(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]) -> list[tuple[str, ...]]:
    """The rows of :func:`compare_table` (none when A and B share no load level)."""
    by_level = {(run["concurrency"], run["rate"]): run for run in b}
    rows: list[tuple[str, ...]] = []
    for run_a in a:
        run_b = by_level.get((run_a["concurrency"], run_a["rate"]))
        if run_b is None:
            continue
        level = str(run_a["concurrency"])
        for label, key, stat in _COMPARED:
            va, vb = run_a[key][stat], run_b[key][stat]
            rows.append((level, label + " ms", ms(va), ms(vb), _change(va, vb)))
        for label, key in (("req/s", "requests_per_s"), ("tok/s", "output_tokens_per_s")):
            rows.append((level, label, rate(run_a[key]), rate(run_b[key]), _change(run_a[key], run_b[key])))
        rows.append((level, "errors", str(run_a["errors"]), str(run_b["errors"]), ""))
    return rows
