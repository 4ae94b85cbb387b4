"""``RunObservation.consumer_left``: the hook through which a front door (the Agents SDK plugin) reports a
consumer that stopped reading while the run goes on. The telemetry marks the run's span; every observer of a
run hears it, even when another one fails."""

from __future__ import annotations

import pytest

from otelagents import Agent, RunConfig
from otelagents._observing import start_run_observation
from otelagents.observer import NOOP_RUN, Outcome, RunInfo, RunObservation, RunObserver
from otelagents.telemetry import semconv as sc
from tests.telemetry_helpers import make_rig

AGENT = Agent(name="A")


def _info() -> RunInfo:
    return RunInfo(starting_agent=AGENT, input="hi", run_config=RunConfig(), max_turns=10, streamed=True,
                   include_sensitive_data=False)


class _Heard(RunObservation):
    def __init__(self, fail: bool = False) -> None:
        self.left = 0
        self.fail = fail

    def consumer_left(self) -> None:
        self.left += 1
        if self.fail:
            raise RuntimeError("observer bug")


class _Gives(RunObserver):
    def __init__(self, observation: RunObservation) -> None:
        self.observation = observation

    def run_started(self, run: RunInfo) -> RunObservation:
        return self.observation


def test_the_run_span_says_the_consumer_left_only_when_it_did() -> None:
    rig = make_rig()
    left = rig.telemetry.run_started(_info())
    left.consumer_left()
    left.ended(Outcome(output="x"))
    stayed = rig.telemetry.run_started(_info())
    stayed.ended(Outcome(output="y"))
    first, second = [s for s in rig.spans() if s.name.startswith("invoke_workflow")]
    assert (first.attributes or {}).get(sc.OTELAGENTS_CONSUMER_LEFT) is True
    assert sc.OTELAGENTS_CONSUMER_LEFT not in (second.attributes or {})


def test_every_observer_hears_it_even_when_one_fails() -> None:
    rig = make_rig()
    broken, heard = _Heard(fail=True), _Heard()
    run = start_run_observation([_Gives(broken), rig.telemetry, _Gives(heard)], _info())
    with pytest.raises(RuntimeError, match="observer bug"):  # strict under tests: raised after all were told
        run.consumer_left()
    run.ended(Outcome())
    assert (broken.left, heard.left) == (1, 1)
    assert (rig.span("invoke_workflow Agent workflow").attributes or {}).get(sc.OTELAGENTS_CONSUMER_LEFT) is True


def test_the_no_op_observation_ignores_it() -> None:
    assert NOOP_RUN.consumer_left() is None
