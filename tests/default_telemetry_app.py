"""An application run in a fresh process by ``test_telemetry_default.py``: prints what telemetry it saw as JSON.

``python tests/default_telemetry_app.py '<options json>'``. It starts the OpenAI-compatible test server, may
configure global OpenTelemetry SDK providers the usual way, may call otelagents, runs a small workload of
streamed runs (a tool call, a handoff, a text answer) with the real ``openai`` client, and reports spans
and metrics. Options:

* ``instrument_first``: call ``instrument()`` before the providers are set;
* ``providers``: ``"sdk"`` (global TracerProvider + MeterProvider), ``"tracer"`` (TracerProvider only) or
  ``"none"``;
* ``call``: ``null``, ``"instrument"``, ``"setup"``, ``"disable"``, ``"uninstrument"``, ``"instrumentor"``,
  ``"add_run_observer"``;
  ``call_after_first_run``: make the call after the first run instead of before;
* ``runs``: how many runs; ``run_config``: keyword arguments of every ``RunConfig``;
* ``delta``: the metric reader prefers delta temporality; ``collect_each_run``: collect after every run;
* ``prometheus``: also report ``/metrics`` of the engine the application's provider collects.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import urllib.request
from typing import Any

from otelagents import Agent, RunConfig, Runner, function_tool
from otelagents.testing.server import OpenAICompatServer, Reply


@function_tool
def lookup(key: str) -> str:
    "Look a key up."
    return key.upper()


def configure(options: dict[str, Any]) -> tuple[Any, Any]:
    if options.get("providers", "sdk") == "none":
        return None, None
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
    from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    if options.get("providers") == "tracer":
        return exporter, None
    delta = AggregationTemporality.DELTA
    reader = InMemoryMetricReader(preferred_temporality={Histogram: delta, Counter: delta}
                                  if options.get("delta") else None)
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return exporter, reader


def call(name: str | None) -> None:
    import otelagents.telemetry as telemetry

    if name == "instrument":
        telemetry.instrument()
    elif name == "setup":
        telemetry.setup(prometheus=False)
    elif name == "disable":
        telemetry.disable()
    elif name == "uninstrument":
        telemetry.uninstrument()
    elif name == "add_run_observer":
        from otelagents import add_run_observer

        add_run_observer(telemetry.Telemetry())
    elif name == "instrumentor":
        from otelagents.instrumentation import OtelAgentsInstrumentor

        OtelAgentsInstrumentor().instrument()


def metric_points(reader: Any) -> tuple[dict[str, Any], list[str]]:
    data = reader.get_metrics_data()
    found: dict[str, Any] = {}
    scopes: list[str] = []
    for rm in (data.resource_metrics if data is not None else []):
        for sm in rm.scope_metrics:
            scopes.append(sm.scope.name)
            for metric in sm.metrics:
                points = []
                for p in metric.data.data_points:
                    point: dict[str, Any] = {"attributes": dict(p.attributes)}
                    if hasattr(p, "bucket_counts"):
                        point.update(count=p.count, sum=p.sum, buckets=list(p.bucket_counts),
                                     bounds=list(p.explicit_bounds), exemplars=len(p.exemplars))
                    else:
                        point.update(value=p.value, exemplars=len(p.exemplars))
                    points.append(point)
                temporality = getattr(metric.data, "aggregation_temporality", None)
                found.setdefault(metric.name, []).append({
                    "unit": metric.unit, "kind": type(metric.data).__name__, "points": points,
                    "temporality": temporality.name if temporality is not None else None})
    return found, scopes


async def workload(options: dict[str, Any], reader: Any, outputs: list[Any]) -> list[Any]:
    billing = Agent(name="billing", instructions="Bill.")
    triage = Agent(name="triage", instructions="Route.", tools=[lookup], handoffs=[billing])
    collections: list[Any] = []
    for index in range(options.get("runs", 1)):
        if index == 1 and options.get("call_after_first_run"):
            call(options.get("call"))
        observers: list[Any] = []
        if options.get("own_telemetry"):
            from otelagents.telemetry import MetricsEngine, Telemetry

            observers.append(Telemetry(metrics=MetricsEngine()))
        config = RunConfig(**options.get("run_config", {}), observers=observers)
        result = Runner.run_streamed(triage, "Hi", run_config=config)
        async for _event in result.stream_events():
            pass
        outputs.append(result.final_output)
        if options.get("collect_each_run") and reader is not None:
            collections.append(metric_points(reader)[0])
    return collections


def main() -> None:
    options = json.loads(sys.argv[1])
    if options.get("instrument_first"):  # otelagents first, the application's providers afterwards
        call("instrument")
    exporter, reader = configure(options)
    if not options.get("call_after_first_run"):
        call(options.get("call"))
    with OpenAICompatServer() as server:
        os.environ["OPENAI_BASE_URL"] = server.base_url
        os.environ["OPENAI_API_KEY"] = "test"
        for _ in range(options.get("runs", 1)):
            server.add(Reply.tool_calls([("lookup", {"key": "k"})]), Reply.handoff("transfer_to_billing"),
                       Reply.text("All done here, thanks", chunks=5))
        outputs: list[Any] = []
        collections = asyncio.run(workload(options, reader, outputs))
    report: dict[str, Any] = {"collections": collections, "outputs": outputs}
    if exporter is not None:
        report["spans"] = [{"name": s.name, "trace_id": s.context.trace_id, "span_id": s.context.span_id,
                            "parent": s.parent.span_id if s.parent else None, "scope": s.instrumentation_scope.name}
                           for s in exporter.get_finished_spans()]
    if reader is not None:
        report["metrics"], report["scopes"] = metric_points(reader)
        if options.get("prometheus"):
            report["prometheus"] = scrape_engine()
    from otelagents.telemetry import active_telemetry

    report["active"] = active_telemetry() is not None  # last: building it sets the info gauge
    print(json.dumps(report))


def scrape_engine() -> str:
    from opentelemetry import metrics

    from otelagents.telemetry._metrics import MetricsServer
    from otelagents.telemetry._metrics.sdk_bridge import engine_for

    engine = engine_for(metrics.get_meter_provider())
    assert engine is not None
    server = MetricsServer(engine, "127.0.0.1", 0).start()
    try:
        with urllib.request.urlopen(server.url, timeout=10) as response:
            return str(response.read().decode())
    finally:
        server.close()


if __name__ == "__main__":
    main()
