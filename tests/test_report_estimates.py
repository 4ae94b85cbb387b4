"""The demo's tables print histogram quantiles as the estimates they are."""

from __future__ import annotations

from otelagents.cli._report import Histo, estimate, ms

BOUNDS = (0.001, 0.002, 0.004)


def histo(counts: tuple[int, ...]) -> Histo:
    return Histo(BOUNDS, counts, sum(counts), 0.0)


def test_a_quantile_in_the_lowest_bucket_prints_as_under_its_bound() -> None:
    assert estimate(histo((10, 0, 0, 0)), 0.99) == "< 1.0 ms"
    assert estimate(histo((6, 4, 0, 0)), 0.5) == "< 1.0 ms"  # rank 5 of 10 is in the first bucket


def test_a_quantile_in_the_inf_bucket_prints_as_over_the_last_bound() -> None:
    assert estimate(histo((0, 0, 9, 1)), 0.99) == "> 4.0 ms"


def test_other_quantiles_are_marked_as_estimates() -> None:
    # rank 5 of 10: one of four values into (1, 2] ms -> 1.25 ms
    assert estimate(histo((4, 4, 2, 0)), 0.5) == "~1.2 ms"
    assert estimate(histo((0, 0, 0, 0)), 0.5) == "-"


def test_tiny_durations_keep_their_digits() -> None:
    assert ms(0.00003) == "0.030 ms"
    assert ms(0.0042) == "4.2 ms"
    assert ms(1.5) == "1,500 ms"
    assert ms(None) == "-"
