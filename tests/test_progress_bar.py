"""The one progress bar shared by ``otelagents profile`` and ``otelagents demo``'s load mode."""

from __future__ import annotations

import io
import re

from otelagents.profile._terminal import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_it_prints_a_line_per_step_and_names_the_unit() -> None:
    out = io.StringIO()
    bar = Progress(20, out, unit="runs", rate_unit="runs/s", lines=10)
    for i in range(20):
        bar.advance(failed=i == 3)
    lines = out.getvalue().splitlines()
    assert [line.split("] ")[1].split(" ")[0] for line in lines] == [f"{n}/20" for n in range(2, 21, 2)]
    assert all(re.fullmatch(r"\[[#-]{24}\] \d+/20 runs  [01] errors  [\d.]+ runs/s", line) for line in lines)
    assert lines[-1].startswith("[" + "#" * 24 + "] 20/20 runs  1 errors")


def test_a_label_prefixes_the_bar_and_the_default_steps_are_quarters() -> None:
    out = io.StringIO()
    bar = Progress(3, out, label="concurrency   2")
    for _ in range(3):
        bar.advance(failed=False)
    lines = out.getvalue().splitlines()
    assert [line.split("] ")[1].split(" ")[0] for line in lines] == ["1/3", "2/3", "3/3"]  # quarters 0 1 2 3
    assert lines[-1].startswith("concurrency   2 [" + "#" * 24 + "] 3/3 requests  0 errors") and "req/s" in lines[-1]


def test_on_a_terminal_it_redraws_in_place_and_ends_the_line_when_done() -> None:
    out = _Terminal()
    bar = Progress(2, out, lines=1)
    bar.advance(failed=False)
    bar.advance(failed=False)
    text = out.getvalue()
    assert text.startswith("\r[") and text.endswith(" req/s\n") and text.count("\n") == 1
    assert "\r[" + "#" * 24 + "] 2/2 requests  0 errors  " in text


def test_an_empty_total_does_not_divide_by_zero() -> None:
    out = io.StringIO()
    assert Progress(0, out).render().startswith("[" + "-" * 24 + "] 0/0 requests")
