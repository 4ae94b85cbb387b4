"""``compare.html``: two profiles side by side, on the same self-contained page as ``report.html``.

Plots: TTFT, inter-chunk latency and end-to-end latency percentiles (p50 solid, p99 dotted) per load
level, and output tokens/s against concurrency, each with A and B in their own colour; then the A -> B
table of the load levels both ran (the terminal's, with the relative change).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otelagents.exceptions import UserError

from ._report import render_page, write_page
from ._report_page import COMPARE_PAGE
from ._results import Profile
from ._terminal import COMPARE_HEADER, compare_rows

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

COMPARE_FILE = "compare.html"
COMPARE_PLOT_IDS = ("ttft-compare", "itl-compare", "e2e-compare", "throughput-compare")
COLOURS = {"A": "#1f77b4", "B": "#ff7f0e"}
_LATENCIES = (("Time to first token", "ttft_s"), ("Inter-chunk latency", "itl_s"), ("End-to-end", "e2e_s"))


def _layout(figure: Figure, title: str, axis: str, levels: Sequence[int]) -> Figure:
    figure.update_layout(title=title, xaxis_title="concurrency", yaxis_title=axis, template="plotly_white",
                         height=380, margin={"t": 50, "b": 40, "l": 60, "r": 20})
    figure.update_xaxes(tickvals=list(levels))
    return figure


def _latency(title: str, key: str, runs: Mapping[str, Sequence[Mapping[str, Any]]],
             levels: Sequence[int]) -> Figure:
    import plotly.graph_objects as go

    figure = go.Figure()
    for label, series in runs.items():
        for stat in ("p50", "p99"):
            values = [None if run[key][stat] is None else run[key][stat] * 1000 for run in series]
            figure.add_trace(go.Scatter(
                x=[run["concurrency"] for run in series], y=values, mode="lines+markers", name=f"{label} {stat}",
                line={"color": COLOURS[label], "dash": "solid" if stat == "p50" else "dot"}))
    return _layout(figure, f"{title} p50, p99", "ms", levels)


def _throughput(runs: Mapping[str, Sequence[Mapping[str, Any]]], levels: Sequence[int]) -> Figure:
    import plotly.graph_objects as go

    figure = go.Figure()
    for label, series in runs.items():
        figure.add_trace(go.Scatter(x=[run["concurrency"] for run in series],
                                    y=[run["output_tokens_per_s"] for run in series], mode="lines+markers",
                                    name=f"{label} output tokens/s", line={"color": COLOURS[label]}))
    return _layout(figure, "Output tokens/s vs concurrency", "output tokens/s", levels)


def compare_figures(a: Profile, b: Profile) -> dict[str, Figure]:
    """The four plots, by element id: every load level of each run (not only the shared ones)."""
    runs = {"A": a.runs, "B": b.runs}
    levels = sorted({run["concurrency"] for series in runs.values() for run in series})
    plots = [_latency(title, key, runs, levels) for title, key in _LATENCIES] + [_throughput(runs, levels)]
    return dict(zip(COMPARE_PLOT_IDS, plots, strict=True))


def render_compare(a: Profile, b: Profile, path_a: str, path_b: str) -> str:
    """The comparison page as HTML text."""
    return render_page(COMPARE_PAGE, compare_figures(a, b), a=a.document, b=b.document, path_a=path_a,
                       path_b=path_b, header=COMPARE_HEADER, rows=compare_rows(a.runs, b.runs))


def write_compare(directory: Path, a: Profile, b: Profile, path_a: str, path_b: str) -> Path:
    """Write ``directory/compare.html``; a folder that cannot be written is a ``UserError``."""
    if directory.exists() and not directory.is_dir():
        raise UserError(f"cannot write {COMPARE_FILE} into {directory}: it is a file, not a folder")
    return write_page(directory / COMPARE_FILE, render_compare(a, b, path_a, path_b))
