"""``otelagents demo``: agents stream their answers live, then the report shows what the telemetry saw."""

from __future__ import annotations

import asyncio
import signal
import threading
from dataclasses import dataclass
from types import FrameType
from typing import Any, TextIO

from openai.types.responses import ResponseTextDeltaEvent

from otelagents._scenarios import Scenario, offline_model, scenario_names, select
from otelagents.observer import RunObserver
from otelagents.run import Runner
from otelagents.telemetry import semconv as sc

from ._errors import CLIError, explain_run_error
from ._pipeline import Pipeline, resolve_otlp
from ._report import MetricsView, summarize, summary_lines, trace_lines
from ._target import Target, TargetSpec

_RULE = "=" * 78


@dataclass(frozen=True)
class DemoOptions:
    scenario: str
    target: TargetSpec
    metrics_host: str
    metrics_port: int
    serve: bool
    otlp_endpoint: str | None
    otlp_protocol: str | None
    runs: int | None  # None: the demo; a number: load mode
    concurrency: int
    runner: str = "otelagents"  # or "agents-sdk": the same scenarios on the real Agents SDK with the plugin


def run(options: DemoOptions, out: TextIO, err: TextIO) -> int:
    """Run the demo (or the load mode), then keep ``/metrics`` up with ``--serve``. Returns the exit code."""
    scenarios = select(options.scenario)
    otlp = resolve_otlp(options.otlp_endpoint, options.otlp_protocol)
    pipeline = Pipeline(metrics_host=options.metrics_host, metrics_port=options.metrics_port, otlp=otlp)
    try:
        mode = (f"{options.runs} runs of {scenario_names(scenarios)}, {options.concurrency} at a time"
                if options.runs is not None else f"scenarios: {scenario_names(scenarios)}")
        _say(out, f"otelagents demo: {mode}")
        _say(out, f"model    {options.target.describe()}")
        _say(out, f"metrics  {pipeline.metrics_url}  (Prometheus format; --serve keeps it up afterwards)")
        if otlp is not None:
            _say(out, f"otlp     traces to {otlp.traces_endpoint}, metrics to {otlp.metrics_endpoint} "
                      f"({otlp.protocol})")
        if options.runs is not None:
            from ._load import run_load

            code = asyncio.run(run_load(scenarios, options.target, pipeline, options.runs, options.concurrency,
                                        out, err))
        else:
            code = asyncio.run(_run_scenarios(scenarios, options.target, pipeline, out, options.runner))
        if otlp is not None:
            if pipeline.flush_otlp():
                _say(out, f"otlp     sent the traces and metrics to {otlp.traces_endpoint.split('/v1/')[0]}")
            else:
                err.write(f"otelagents demo: warning: could not export to the OTLP endpoint "
                          f"{otlp.traces_endpoint} in time; is the collector running?\n")
        if options.serve:
            _serve(pipeline.metrics_url, out)
        return code
    finally:
        pipeline.close()


def _say(out: TextIO, line: str = "") -> None:
    out.write(line + "\n")
    out.flush()


async def warm_up(scenarios: list[Scenario]) -> None:
    """Run each scenario once, offline, with no delays and throwaway telemetry, so that one-off costs
    (first imports, first model objects, first spans) do not land in the first measured run."""
    from opentelemetry.sdk.trace import TracerProvider

    from otelagents.telemetry._metrics import MetricsEngine
    from otelagents.telemetry._observer import Telemetry

    from ._target import Target, target_spec

    offline = Target(target_spec(None, None, None, fast=True))
    scratch = Telemetry(tracer_provider=TracerProvider(), metrics=MetricsEngine())
    for scenario in scenarios:
        result = Runner.run_streamed(scenario.agent(), scenario.prompt,
                                     run_config=offline.run_config(scenario, [scratch]))
        async for _ in result.stream_events():
            pass


async def _run_scenarios(scenarios: list[Scenario], spec: TargetSpec, pipeline: Pipeline, out: TextIO,
                         runner: str = "otelagents") -> int:
    await warm_up(scenarios)
    target = Target(spec)
    sdk = _sdk_runner(pipeline, spec) if runner == "agents-sdk" else None
    try:
        for number, scenario in enumerate(scenarios, start=1):
            _say(out)
            _say(out, _RULE)
            _say(out, f"{number}/{len(scenarios)}  {scenario.name}: {scenario.title}")
            _say(out, _RULE)
            before = MetricsView.of(pipeline.snapshot())
            pipeline.spans.clear()
            await _stream_one(scenario, target, [pipeline.telemetry], spec, out, sdk)
            spans = pipeline.finished_spans()
            added = MetricsView.of(pipeline.snapshot()).minus(before)
            summary = summarize(spans, added)
            _say(out)
            _say(out, f"--- what the telemetry saw (trace {summary.trace_id}) ---")
            for line in summary_lines(summary):
                _say(out, "  " + line)
            _say(out, "  trace:")
            for line in trace_lines(spans):
                _say(out, "    " + line)
        _say(out)
        _footer(pipeline, out)
    finally:
        await target.close()
        if sdk is not None:
            await sdk.close()
    return 0


def _sdk_runner(pipeline: Pipeline, spec: TargetSpec) -> Any:
    """The Agents SDK side of ``--runner agents-sdk`` (it needs the SDK installed)."""
    import importlib.util

    if importlib.util.find_spec("agents") is None:
        raise CLIError('--runner agents-sdk needs the openai-agents SDK: pip install "otelagents[agents-sdk]"')
    from otelagents.instrumentation.agents_sdk._demo import SDKDemoRunner

    return SDKDemoRunner(pipeline.telemetry, spec.model, spec.base_url, spec.api_key, spec.api)


async def _stream_one(scenario: Scenario, target: Target, observers: list[RunObserver], spec: TargetSpec,
                      out: TextIO, sdk: Any = None) -> None:
    printer = _Printer(out)
    printer.line(f"user: {scenario.prompt}")
    result: Any
    if sdk is not None:  # the same scenario on the Agents SDK (its events have the same shapes)
        result = sdk.run_streamed(scenario.agent(), scenario.prompt, scenario.workflow_name,
                                  offline_model(scenario, spec.pace))
    else:
        result = Runner.run_streamed(scenario.agent(), scenario.prompt,
                                     run_config=target.run_config(scenario, observers))
    try:
        async for event in result.stream_events():
            if event.type == "raw_response_event":
                if isinstance(event.data, ResponseTextDeltaEvent):
                    printer.text(event.data.delta)
            elif event.type == "agent_updated_stream_event":
                printer.agent = event.new_agent.name
            elif event.type == "run_item_stream_event":
                item: Any = event.item
                if event.name == "tool_called":
                    printer.line(f"-- tool called: {item.tool_name}({item.raw_item.arguments or ''})")
                elif event.name == "tool_output":
                    printer.line(f"-- tool output: {item.output}")
                elif event.name == "handoff_occured":
                    source = getattr(item.source_agent, "name", "?")
                    printer.line(f"-- handoff: {source} -> {getattr(item.target_agent, 'name', '?')}")
    except Exception as exc:
        printer.end()
        explained = explain_run_error(exc, spec.server)
        if explained is None:
            raise
        raise explained from exc
    printer.end()


class _Printer:
    """Streams text as it arrives, labelled with the agent speaking; notes go on lines of their own."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.agent = ""
        self._speaking = ""
        self._at_line_start = True

    def text(self, delta: str) -> None:
        if not delta:
            return
        if self._speaking != self.agent:
            self.end()
            self.out.write(f"{self.agent}: ")
            self._speaking = self.agent
        self.out.write(delta)
        self.out.flush()
        self._at_line_start = delta.endswith("\n")

    def line(self, text: str) -> None:
        self.end()
        self.out.write(text + "\n")
        self.out.flush()
        self._speaking = ""

    def end(self) -> None:
        if not self._at_line_start:
            self.out.write("\n")
            self.out.flush()
            self._at_line_start = True


def _footer(pipeline: Pipeline, out: TextIO) -> None:
    view = MetricsView.of(pipeline.snapshot())
    calls = view.histogram(sc.METRIC_OPERATION_DURATION).count
    name = sc.METRICS_BY_NAME[sc.METRIC_OPERATION_DURATION].prometheus_name
    _say(out, "Every figure above was read from the spans and the metrics otelagents recorded; p50/p95/p99 are "
              "estimated from the histogram buckets, as Prometheus' histogram_quantile() does.")
    _say(out, f"{pipeline.metrics_url} serves the same metrics ({name}_count {calls}, the token-latency "
              "histograms, ...).")
    hint = "Add --serve to keep it up for Prometheus and the Grafana dashboards in dashboards/"
    _say(out, hint + ("." if pipeline.otlp is not None else
                      ", or --otlp-endpoint URL to send traces and metrics to a collector."))


def _serve(url: str, out: TextIO) -> None:
    """Keep ``/metrics`` up until Ctrl-C (SIGINT) or SIGTERM."""
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_term) if threading.current_thread() is threading.main_thread() \
        else None
    _say(out, f"serving {url} until Ctrl-C")
    try:
        while not stop.wait(0.25):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    _say(out, "stopped serving /metrics")
