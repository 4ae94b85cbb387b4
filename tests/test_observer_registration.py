"""Registering observers: the wrong kind of object is refused with what to pass instead."""

from __future__ import annotations

import pytest

from otelagents import RunObserver, add_run_observer, remove_run_observer
from otelagents._observing import get_run_observers, set_telemetry_observer, telemetry_observer


class _Counting(RunObserver):
    pass


def test_add_run_observer_refuses_what_is_not_an_observer_and_says_what_to_pass() -> None:
    with pytest.raises(TypeError, match=r"add_run_observer\(\) expected a RunObserver, got function: subclass "
                                        r"otelagents.RunObserver and override run_started\(\)"):
        add_run_observer(lambda run: None)  # type: ignore[arg-type]
    observer = _Counting()
    add_run_observer(observer)
    try:
        add_run_observer(observer)  # once, however often it is added
        assert get_run_observers().count(observer) == 1
    finally:
        remove_run_observer(observer)
    assert observer not in get_run_observers()


def test_the_telemetry_slot_refuses_what_is_not_an_observer_and_keeps_what_it_had() -> None:
    before = telemetry_observer()
    with pytest.raises(TypeError, match=r"set_telemetry_observer\(\) expected a RunObserver or None, got str: "
                                        r"pass an otelagents.telemetry.Telemetry"):
        set_telemetry_observer("otel")  # type: ignore[arg-type]
    assert telemetry_observer() is before
