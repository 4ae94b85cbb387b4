"""``otelagents profile``: token-stream latency profiling of an OpenAI-compatible endpoint (or offline).

The flags are parsed here, the telemetry pipeline (``/metrics``, OTLP) is the demo's, and the profiling
itself is :mod:`otelagents.profile`. ``--compare A B`` compares two result folders instead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from otelagents._observing import set_telemetry_observer
from otelagents.exceptions import UserError

from ._errors import CLIError

DEFAULT_CONCURRENCY = "1,4,16"
DEFAULT_REQUESTS = 32
SERVICE_NAME = "otelagents-profile"  # the resource's service.name, unless OTEL_SERVICE_NAME is set


def _levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas (e.g. 1,4,16), got {text!r}") \
            from None
    if not levels or any(level < 1 for level in levels):
        raise argparse.ArgumentTypeError(f"each level must be at least 1, got {text!r}")
    return levels


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected requests per second, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of requests per second, got {text!r}")
    return value


def add_parser(commands: Any, positive: Any, port: Any) -> None:
    """Add the ``profile`` subcommand to ``commands`` (``positive``/``port``: the CLI's argument types)."""
    profile = commands.add_parser(
        "profile", help="profile token-stream latency of an endpoint at several concurrency levels",
        description="Run a workload through the runner with telemetry on at each concurrency level and report "
                    "exact TTFT, inter-chunk latency, time per output token and end-to-end percentiles, "
                    "throughput, errors and goodput. Writes DIR/results.json, DIR/requests.jsonl and "
                    "DIR/report.html. Without --base-url it profiles the offline scripted model.",
    )
    profile.add_argument("--base-url", metavar="URL", default=None,
                         help="OpenAI-compatible base URL (default: $OPENAI_BASE_URL with --model; without "
                              "either, the offline scripted model)")
    profile.add_argument("--model", metavar="NAME", default=None, help="the model to ask (needed with --base-url)")
    profile.add_argument("--api", choices=("responses", "chat_completions"), default=None,
                         help="the API to use with --base-url (default: responses); the offline model has none")
    profile.add_argument("--concurrency", type=_levels, default=_levels(DEFAULT_CONCURRENCY), metavar="C[,C...]",
                         help=f"load levels: requests in flight at most (default: {DEFAULT_CONCURRENCY})")
    profile.add_argument("--rate", type=_rate, default=None, metavar="R",
                         help="release requests at R per second (still capped by --concurrency); default: all "
                              "at once")
    profile.add_argument("--arrival", choices=("constant", "poisson"), default="constant",
                         help="with --rate: evenly spaced, or Poisson arrivals like independent users (seeded by "
                              "--seed; default: constant)")
    profile.add_argument("--seed", type=int, default=0, help="the seed of the Poisson arrivals (default: 0)")
    profile.add_argument("--requests", type=positive, default=DEFAULT_REQUESTS, metavar="N",
                         help=f"requests per load level (default: {DEFAULT_REQUESTS})")
    profile.add_argument("--scenario", default="text", metavar="text|tools|handoff|FILE",
                         help="the workload: a streamed answer, a tool call then the answer, a handoff, or a "
                              "JSON file {\"prompts\": [...], \"instructions\": ...} (default: text)")
    profile.add_argument("--max-tokens", type=positive, default=None, metavar="K", help="max output tokens per call")
    profile.add_argument("--slo", default=None, metavar="NAME=S,...",
                         help="goodput limits in seconds: ttft, ttfv, itl, tpot, e2e (e.g. ttft=0.5,itl=0.05)")
    profile.add_argument("--output", type=Path, default=None, metavar="DIR",
                         help="where to write results.json, requests.jsonl and report.html (with --compare: "
                              "compare.html, default the current folder)")
    profile.add_argument("--trace-url", default=None, metavar="TEMPLATE",
                         help="link trace ids in the report, e.g. http://127.0.0.1:3000/explore?...{trace_id}...")
    profile.add_argument("--no-report", action="store_true",
                         help="skip report.html, or compare.html with --compare (no plotly needed)")
    profile.add_argument("--warmup", type=int, default=1, metavar="N",
                         help="unrecorded requests sent first (default: 1)")
    profile.add_argument("--fast", action="store_true", help="offline model without simulated latency (tests)")
    profile.add_argument("--compare", nargs=2, type=Path, default=None, metavar=("A", "B"),
                         help="compare two result folders instead of profiling: a table, and compare.html")
    profile.add_argument("--metrics-port", type=port, default=None, metavar="PORT",
                         help="serve /metrics on 127.0.0.1:PORT meanwhile; 0 picks a free port (default: "
                              "$OTEL_EXPORTER_PROMETHEUS_PORT, else 9464)")
    profile.add_argument("--serve", action="store_true",
                         help="keep serving /metrics after the profile, until Ctrl-C (for Prometheus and the "
                              "dashboards)")
    profile.add_argument("--otlp-endpoint", metavar="URL", default=None,
                         help="also send traces and metrics to an OTLP collector (default: "
                              "$OTEL_EXPORTER_OTLP_ENDPOINT, else none)")
    profile.add_argument("--otlp-protocol", choices=("grpc", "http/protobuf"), default=None,
                         help="OTLP protocol (default: $OTEL_EXPORTER_OTLP_PROTOCOL, else grpc)")
    profile.add_argument("--debug", action="store_true", help="show tracebacks and OpenTelemetry's own logs")


def run(args: argparse.Namespace, metrics_port: int, out: TextIO, err: TextIO) -> int:
    """Run ``otelagents profile`` with parsed ``args``. Returns the exit code."""
    try:
        if args.compare is not None:
            return _compare(args, args.compare[0], args.compare[1], out)
        return _profile(args, metrics_port, out, err)
    except UserError as exc:
        raise CLIError(str(exc), usage=True) from exc


def _compare(args: argparse.Namespace, a: Path, b: Path, out: TextIO) -> int:
    """The A -> B table, and ``compare.html`` in ``--output`` (default: the current folder)."""
    from otelagents.profile import load
    from otelagents.profile._report import check_available
    from otelagents.profile._terminal import compare_table

    if not args.no_report:
        check_available()
    first, second = load(a), load(b)
    out.write(f"A: {a}  ({first.document['target']['model']}, {first.document['created']})\n")
    out.write(f"B: {b}  ({second.document['target']['model']}, {second.document['created']})\n")
    lines = compare_table(first.runs, second.runs)
    if len(lines) == 1:
        raise UserError(f"{a} and {b} have no concurrency level in common; nothing to compare")
    for line in lines:
        out.write(line + "\n")
    if not args.no_report:
        from otelagents.profile._compare_report import write_compare

        out.write(f"report   {write_compare(args.output or Path.cwd(), first, second, str(a), str(b))}\n")
    return 0


def _endpoint(args: argparse.Namespace) -> Any:
    from otelagents._scenarios import Pace
    from otelagents.profile import Endpoint

    base_url = args.base_url or (os.environ.get("OPENAI_BASE_URL") if args.model else None) or None
    if base_url is None and args.model is None:
        if args.api is not None:
            raise UserError(f"--api {args.api} needs a server: give --base-url URL and --model NAME (the offline "
                            "scripted model is called in process, over no API)")
        return Endpoint(max_tokens=args.max_tokens, pace=Pace.none() if args.fast else Pace())
    if args.model is None or not args.model.strip():
        raise UserError("--base-url needs --model NAME (the model to ask)")
    key = os.environ.get("OPENAI_API_KEY") or None
    if base_url is None:
        if key is None:
            raise UserError(f"--model {args.model} needs --base-url (or OPENAI_BASE_URL), or OPENAI_API_KEY for "
                            "OpenAI itself; drop --model to profile the offline scripted model")
        base_url = "https://api.openai.com/v1"
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserError(f"base URL {base_url!r} is not an http(s) URL; use e.g. http://127.0.0.1:8000/v1")
    return Endpoint(base_url=base_url, model=args.model, api=args.api or "responses", api_key=key,
                    max_tokens=args.max_tokens)


def _profile(args: argparse.Namespace, metrics_port: int, out: TextIO, err: TextIO) -> int:
    from otelagents.profile import ProfileOptions, parse_slo, profile, workload
    from otelagents.profile._report import check_available, check_template

    from ._pipeline import Pipeline, resolve_otlp

    if args.output is None:
        raise UserError("--output DIR is needed: the folder for results.json, requests.jsonl and report.html")
    if args.arrival != "constant" and args.rate is None:
        raise UserError(f"--arrival {args.arrival} needs --rate R (the mean requests per second)")
    if args.warmup < 0:
        raise UserError(f"--warmup must be 0 or more, not {args.warmup}")
    if args.trace_url is not None:
        check_template(args.trace_url)
    if not args.no_report:
        check_available()
    options = ProfileOptions(workload=workload(args.scenario), endpoint=_endpoint(args),
                             concurrency=tuple(args.concurrency), requests=args.requests, rate=args.rate,
                             arrival=args.arrival, seed=args.seed,
                             slo=parse_slo(args.slo) if args.slo is not None else None, warmup=args.warmup,
                             output=args.output, scenario_label=args.scenario)
    otlp = resolve_otlp(args.otlp_endpoint, args.otlp_protocol)
    pipeline = Pipeline(metrics_host="127.0.0.1", metrics_port=metrics_port, otlp=otlp,
                        service_name=SERVICE_NAME)
    # Each request is observed once, by the pipeline's telemetry (and the recorder): not also by the default
    # telemetry, which would cost time per chunk and, with a global SDK configured, trace every run twice.
    default = set_telemetry_observer(None)
    try:
        out.write(f"otelagents profile: {options.endpoint.describe()}\n")
        out.write(f"workload {options.workload.name}; {options.requests} requests at concurrency "
                  f"{', '.join(map(str, options.concurrency))}"
                  + (f", released at {options.rate:g}/s" if options.rate else "") + "\n")
        out.write(f"metrics  {pipeline.metrics_url}" + (f"; otlp to {otlp.traces_endpoint}" if otlp else "") + "\n")
        out.flush()
        result = asyncio.run(profile(options, [pipeline.telemetry], out, err))
        if otlp is not None and not pipeline.flush_otlp():
            err.write(f"otelagents profile: warning: could not export to the OTLP endpoint {otlp.traces_endpoint} "
                      "in time; is the collector running?\n")
        _finish(args, options.endpoint, result, out)
        if args.serve:
            from ._demo import _serve

            _serve(pipeline.metrics_url, out)
    finally:
        set_telemetry_observer(default)
        pipeline.close()
    return 0


def _finish(args: argparse.Namespace, endpoint: Any, result: Any, out: TextIO) -> None:
    """Write the report; raise when no request of any level succeeded (the results are written anyway)."""
    from otelagents.profile._report import write_report
    from otelagents.profile._results import REPORT_FILE

    if all(run["completed"] == 0 for run in result.runs):
        first = next((r for r in result.records if r.get("error")), None)
        detail = f" (the first: {first['error']}: {first['error_message']})" if first else ""
        server = endpoint.base_url or "the offline model"
        raise CLIError(f"every request failed{detail}; is {server} up and serving {endpoint.model!r}?")
    out.write(f"results  {args.output / 'results.json'} (raw records in requests.jsonl)\n")
    if not args.no_report:
        out.write(f"report   {write_report(args.output, result, args.trace_url)}\n")
    elif (args.output / REPORT_FILE).exists():
        out.write(f"note     {args.output / REPORT_FILE} is from an earlier profile (--no-report left it alone)\n")
    out.flush()


__all__ = ["add_parser", "run"]
