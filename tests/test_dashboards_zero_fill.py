"""Counters that a healthy system never increments (errors, tool errors, stalls, handoffs) are absent from
``/metrics`` until the first one: every panel that reads one must fall back to zero, not show "No data"."""

from __future__ import annotations

import re

from dashboards import generate
from otelagents.telemetry import semconv as sc

ZERO_FILL = re.compile(r"\bor (on \([^)]*\) )?(vector\(0\)|0 \*)")
COUNTERS = tuple(spec.prometheus_name for spec in sc.METRICS if spec.kind == "counter")


def can_be_absent(expr: str) -> bool:
    return any(name in expr for name in COUNTERS) or 'error_type!=""' in expr


def test_every_panel_reading_an_absent_able_series_is_zero_filled() -> None:
    queries = generate.all_queries(generate.PARSE_SUBSTITUTIONS)
    absent_able = [(uid, title, expr) for uid, title, expr in queries if can_be_absent(expr)]
    titles = {title for _, title, _ in absent_able}
    assert {"Stalls/s by model", "Tool errors/s by tool", "Errors/s by type and operation", "Handoffs/s",
            "Errors over the time range"} <= titles
    missing = [f"{uid} / {title}: {expr}" for uid, title, expr in absent_able if not ZERO_FILL.search(expr)]
    assert missing == []


def test_the_check_catches_a_bare_counter_rate() -> None:
    bare = 'sum by (gen_ai_request_model) (rate(otelagents_client_stalls_total{job=~".+"}[1m]))'
    assert can_be_absent(bare) and not ZERO_FILL.search(bare)
    assert ZERO_FILL.search(f"({bare} or vector(0))")
    assert ZERO_FILL.search(f"({bare} or on (gen_ai_tool_name) 0 * sum(x))")
