"""``report.html``: one self-contained page (plotly.js inlined, no network needed) with the profile's plots.

Plots: TTFT and inter-chunk latency distributions per load level, latency against concurrency, and
throughput against concurrency; then the results table and the slowest requests with their trace ids,
linked when a trace URL template (``...{trace_id}...``) is given. The figures are plotly's and the page is a
Jinja2 template (autoescaped), both from the ``profile`` extra.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otelagents.exceptions import UserError

from ._report_page import BASE, PAGE
from ._results import REPORT_FILE, Profile
from ._terminal import HEADER, run_row

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

MISSING_EXTRA = ("the HTML report needs plotly and jinja2, which come with the profile extra: pip install "
                 "'otelagents[profile]' (or pass --no-report)")
PLOT_IDS = ("ttft-distribution", "itl-distribution", "latency-vs-concurrency", "throughput-vs-concurrency")
SLOWEST_ROWS = 10


def check_available() -> None:
    """Raise ``UserError`` with the install hint when plotly or jinja2 is missing."""
    try:
        import jinja2  # noqa: F401
        import plotly  # noqa: F401
    except ImportError as exc:
        raise UserError(MISSING_EXTRA) from exc


def trace_link(template: str | None, trace_id: str | None) -> str | None:
    """The trace's URL from ``template`` (``{trace_id}`` is replaced), or None."""
    if template is None or trace_id is None:
        return None
    return template.replace("{trace_id}", trace_id)


def check_template(template: str) -> None:
    if "{trace_id}" not in template:
        raise UserError(f"--trace-url {template!r} has no {{trace_id}} placeholder; e.g. "
                        "http://127.0.0.1:3000/explore?left=...{trace_id}...")


def _ms(values: Sequence[float | None]) -> list[float]:
    return [v * 1000 for v in values if v is not None]


def _distribution(title: str, per_level: Mapping[int, list[float]], axis: str) -> Figure:
    import plotly.graph_objects as go

    figure = go.Figure()
    for concurrency, values in per_level.items():
        figure.add_trace(go.Box(y=values, name=f"concurrency {concurrency}", boxpoints="outliers",
                                boxmean=True))
    figure.update_layout(title=title, yaxis_title=axis, showlegend=False, template="plotly_white",
                         margin={"t": 50, "b": 40, "l": 60, "r": 20}, height=380)
    return figure


def _vs_concurrency(runs: Sequence[Mapping[str, Any]]) -> tuple[Figure, Figure]:
    import plotly.graph_objects as go

    levels = [run["concurrency"] for run in runs]
    latency = go.Figure()
    for label, key, stats in (("TTFT", "ttft_s", ("p50", "p99")), ("first text", "ttfv_s", ("p50",)),
                              ("ITL", "itl_s", ("p50", "p99")), ("E2E", "e2e_s", ("p50", "p99"))):
        for stat in stats:
            latency.add_trace(go.Scatter(x=levels, y=[_scaled(run[key][stat]) for run in runs],
                                         mode="lines+markers", name=f"{label} {stat}",
                                         line={"dash": "solid" if stat == "p50" else "dot"}))
    latency.update_layout(title="Latency vs concurrency", xaxis_title="concurrency", yaxis_title="ms",
                          yaxis={"type": "log", "dtick": 1}, template="plotly_white", height=380,
                          margin={"t": 50, "b": 40, "l": 60, "r": 20})
    throughput = go.Figure()
    throughput.add_trace(go.Scatter(x=levels, y=[run["output_tokens_per_s"] for run in runs], mode="lines+markers",
                                    name="output tokens/s"))
    throughput.add_trace(go.Scatter(x=levels, y=[run["requests_per_s"] for run in runs], mode="lines+markers",
                                    name="requests/s", yaxis="y2", line={"dash": "dot"},
                                    marker={"symbol": "square"}))
    throughput.update_layout(title="Throughput vs concurrency", xaxis_title="concurrency",
                             yaxis_title="output tokens/s", template="plotly_white", height=380,
                             yaxis2={"title": "requests/s", "overlaying": "y", "side": "right"},
                             margin={"t": 50, "b": 40, "l": 60, "r": 60})
    for figure in (latency, throughput):
        figure.update_xaxes(tickvals=levels)
    return latency, throughput


def _scaled(value: float | None) -> float | None:
    return None if value is None else value * 1000


def figures(result: Profile) -> dict[str, Figure]:
    """The four plots, by element id."""
    records = [r for r in result.records if r.get("error") is None]
    levels = [run["concurrency"] for run in result.runs]
    ttft = {c: _ms([r["ttft_s"] for r in records if r["concurrency"] == c]) for c in levels}
    itl = {c: _ms([g for r in records if r["concurrency"] == c for g in r["itl_s"]]) for c in levels}
    latency, throughput = _vs_concurrency(result.runs)
    return {
        PLOT_IDS[0]: _distribution("Time to first token per load level", ttft, "ms"),
        PLOT_IDS[1]: _distribution("Inter-chunk latency per load level", itl, "ms"),
        PLOT_IDS[2]: latency,
        PLOT_IDS[3]: throughput,
    }


def render_page(template: str, plot_figures: Mapping[str, Figure], **context: Any) -> str:
    """``template`` (which extends the shared page) with the plots, plotly.js inlined, and ``context``."""
    try:
        import jinja2
        from markupsafe import Markup
        from plotly.offline import get_plotlyjs
    except ImportError as exc:
        raise UserError(MISSING_EXTRA) from exc
    plots = {
        plot_id: Markup(figure.to_html(
            full_html=False, include_plotlyjs=False, div_id=plot_id,
            config={"displaylogo": False, "responsive": True}))
        for plot_id, figure in plot_figures.items()
    }
    environment = jinja2.Environment(loader=jinja2.DictLoader({"base": BASE, "page": template}), autoescape=True,
                                     undefined=jinja2.StrictUndefined)
    return environment.get_template("page").render(plotly_js=Markup(get_plotlyjs()), plots=plots, **context)


def render(result: Profile, trace_url: str | None = None) -> str:
    """The report page as HTML text."""
    slow = sorted(result.records, key=lambda r: r["e2e_s"], reverse=True)[:SLOWEST_ROWS]
    return render_page(
        PAGE, figures(result), document=result.document, header=HEADER, rows=[run_row(run) for run in result.runs],
        slowest=[{**record, "link": trace_link(trace_url, record.get("trace_id"))} for record in slow],
    )


def write_page(path: Path, html: str) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def write_report(directory: Path, result: Profile, trace_url: str | None = None) -> Path:
    return write_page(directory / REPORT_FILE, render(result, trace_url))
