"""The engine -> SDK ``MeterProvider`` bridge, in process with explicit providers (no globals).

An application's readers collect otelagents' aggregates: every reader, readers added later, each in its
own temporality; one engine per provider however many ``Telemetry`` objects report to it; detaching stops it.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader

from otelagents import Agent, RunConfig, Runner
from otelagents.telemetry import Telemetry
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._metrics.sdk_bridge import detach, engine_for
from otelagents.testing import ScriptedModel

DELTA = {Histogram: AggregationTemporality.DELTA, Counter: AggregationTemporality.DELTA}


def metric(reader: InMemoryMetricReader, name: str) -> Any:
    data = reader.get_metrics_data()
    found = [m for rm in (data.resource_metrics if data else []) for sm in rm.scope_metrics
             for m in sm.metrics if m.name == name]
    return found[0] if found else None


def count(reader: InMemoryMetricReader, name: str) -> int:
    found = metric(reader, name)
    return 0 if found is None else sum(p.count for p in found.data.data_points)


def run(telemetry: Telemetry) -> None:
    Runner.run_sync(Agent("bridge", model=ScriptedModel(["one two three four five"])), "go",
                    run_config=RunConfig(observers=[telemetry]))


def test_two_telemetry_objects_on_one_provider_share_one_engine_and_count_each_run_once() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    first, second = Telemetry(meter_provider=provider), Telemetry(meter_provider=provider)
    assert first.metrics is second.metrics is engine_for(provider)
    run(first)
    run(second)
    assert count(reader, sc.METRIC_INVOKE_WORKFLOW_DURATION) == 2
    assert count(reader, sc.METRIC_TIME_PER_OUTPUT_CHUNK) == 8  # five chunks, four gaps, per run


def test_every_reader_in_its_own_temporality_including_one_added_later() -> None:
    cumulative, delta = InMemoryMetricReader(), InMemoryMetricReader(preferred_temporality=DELTA)
    provider = MeterProvider(metric_readers=[cumulative, delta])
    telemetry = Telemetry(meter_provider=provider)
    run(telemetry)
    assert count(delta, sc.METRIC_INVOKE_WORKFLOW_DURATION) == 1
    late = InMemoryMetricReader()
    provider.add_metric_reader(late)
    run(telemetry)
    assert count(cumulative, sc.METRIC_INVOKE_WORKFLOW_DURATION) == 2
    second = metric(delta, sc.METRIC_INVOKE_WORKFLOW_DURATION)  # each collection of a delta reader resets it
    assert second.data.aggregation_temporality == AggregationTemporality.DELTA
    assert sum(p.count for p in second.data.data_points) == 1  # only the second run
    assert count(delta, sc.METRIC_INVOKE_WORKFLOW_DURATION) == 0  # nothing new since
    assert count(late, sc.METRIC_INVOKE_WORKFLOW_DURATION) == 2  # cumulative from the engine's start


def test_the_application_s_own_instruments_keep_their_scope_next_to_ours() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("app").create_counter("app.requests").add(3)
    run(Telemetry(meter_provider=provider))
    data = reader.get_metrics_data()
    scopes = {sm.scope.name: sm for sm in data.resource_metrics[0].scope_metrics}
    assert set(scopes) == {"app", "otelagents"}
    assert [m.name for m in scopes["app"].metrics] == ["app.requests"]


def test_detach_stops_reporting_and_a_shut_down_provider_is_left_alone() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    telemetry = Telemetry(meter_provider=provider)
    run(telemetry)
    engine = engine_for(provider)
    assert engine is not None
    detach(engine, provider)
    assert metric(reader, sc.METRIC_INVOKE_WORKFLOW_DURATION) is None
    provider.shutdown()
    other = MeterProvider(metric_readers=[InMemoryMetricReader()])
    other.shutdown()
    assert engine_for(other) is not None  # attaching to a shut-down provider is harmless


def test_an_explicit_no_op_provider_records_nothing_and_stays_so() -> None:
    from opentelemetry.metrics import NoOpMeterProvider

    from otelagents.telemetry._providers import sink_for

    sink, placeholder = sink_for(NoOpMeterProvider())
    assert placeholder is False and engine_for(NoOpMeterProvider()) is None
    telemetry = Telemetry(meter_provider=NoOpMeterProvider())
    run(telemetry)
    assert telemetry.metrics is not sink and telemetry._follow_global_meter is False


def test_the_provider_s_resource_is_read_at_each_collection() -> None:
    from opentelemetry.sdk.resources import Resource

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], resource=Resource({"service.name": "app"}))
    run(Telemetry(meter_provider=provider))
    assert reader.get_metrics_data().resource_metrics[0].resource.attributes["service.name"] == "app"
    provider._update_resource(Resource({"service.instance.id": "forked-child"}))  # what the SDK does after fork
    attributes = reader.get_metrics_data().resource_metrics[0].resource.attributes
    assert (attributes["service.name"], attributes["service.instance.id"]) == ("app", "forked-child")
