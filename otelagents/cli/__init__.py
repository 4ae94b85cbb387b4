"""The ``otelagents`` command line (also ``python -m otelagents``).

``otelagents demo`` shows what otelagents is for, offline by default: agents stream their answers, then
the run's summary and trace tree show what the telemetry recorded, while ``/metrics`` serves the same
figures. Errors a user can cause print one line on stderr and exit 2 (usage) or 1 (runtime); ``--debug``
adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn, TextIO

from ._errors import EXIT_INTERRUPTED, EXIT_RUNTIME, EXIT_USAGE, CLIError

__all__ = ["main"]

DEFAULT_METRICS_PORT = 9464
PROG = "otelagents"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (raised, so that ``main`` decides how to exit)."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see {self.prog} --help)")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535 (0 picks a free port), got {value}")
    return value


def _parser() -> _Parser:
    from otelagents._scenarios import SCENARIO_NAMES

    from ._target import APIS

    parser = _Parser(prog=PROG, description="otelagents: a streaming agent runner with the OpenAI Agents "
                                            "SDK's API and OpenTelemetry built in.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="stream agent answers and show what the telemetry saw (offline by default)",
        description="Run agents that stream their answers, then print each run's latency summary and trace "
                    "tree, read from the telemetry; /metrics serves the same figures meanwhile. Offline on a "
                    "scripted model by default; --model runs the same scenarios against a real model.",
    )
    demo.add_argument("--scenario", choices=("all", *SCENARIO_NAMES), default="all",
                      help="which scenario to run (default: all)")
    demo.add_argument("--fast", action="store_true", help="no simulated model latency (for tests)")
    demo.add_argument("--metrics-port", type=_port, default=None, metavar="PORT",
                      help=f"serve /metrics on 127.0.0.1:PORT; 0 picks a free port (default: "
                           f"$OTEL_EXPORTER_PROMETHEUS_PORT, else {DEFAULT_METRICS_PORT})")
    demo.add_argument("--serve", action="store_true", help="keep serving /metrics after the runs, until Ctrl-C")
    demo.add_argument("--otlp-endpoint", metavar="URL", default=None,
                      help="also send traces and metrics to an OTLP collector (default: "
                           "$OTEL_EXPORTER_OTLP_ENDPOINT, else none)")
    demo.add_argument("--otlp-protocol", choices=("grpc", "http/protobuf"), default=None,
                      help="OTLP protocol (default: $OTEL_EXPORTER_OTLP_PROTOCOL, else grpc)")
    demo.add_argument("--model", metavar="NAME", default=None,
                      help="run against this real model (OPENAI_API_KEY, OPENAI_BASE_URL) instead of offline")
    demo.add_argument("--base-url", metavar="URL", default=None,
                      help="OpenAI-compatible base URL for --model (default: $OPENAI_BASE_URL, else OpenAI)")
    demo.add_argument("--api", choices=APIS, default=None, help="API for --model (default: responses)")
    demo.add_argument("--runs", type=_positive, default=None, metavar="N",
                      help="load mode: N runs without live text, with a progress bar and a summary table")
    demo.add_argument("--concurrency", type=_positive, default=None, metavar="C",
                      help="load mode: runs in flight at once (default: 4)")
    demo.add_argument("--runner", choices=("otelagents", "agents-sdk"), default="otelagents",
                      help="run the scenarios on otelagents' runner (default) or on the real openai-agents SDK "
                           "with otelagents' plugin (pip install \"otelagents[agents-sdk]\")")
    demo.add_argument("--debug", action="store_true", help="show tracebacks and OpenTelemetry's own logs")
    from ._profile import add_parser as add_profile

    add_profile(commands, _positive, _port)
    return parser


def _version() -> str:
    from otelagents import __version__

    return __version__


def _default_metrics_port() -> int:
    raw = os.environ.get("OTEL_EXPORTER_PROMETHEUS_PORT", "").strip()
    if not raw:
        return DEFAULT_METRICS_PORT
    try:
        return _port(raw)
    except argparse.ArgumentTypeError as exc:
        raise CLIError(f"OTEL_EXPORTER_PROMETHEUS_PORT={raw!r}: {exc}; fix it or pass --metrics-port",
                       usage=True) from None


@contextmanager
def _logging(debug: bool, err: TextIO) -> Iterator[None]:
    """Log records as one line each on ``err`` (tracebacks only with ``--debug``); restored afterwards, so
    that ``main()`` can be called in process (tests) without changing the caller's logging."""
    handler = logging.StreamHandler(err)
    handler.setFormatter(_OneLine(debug))
    root = logging.getLogger()
    levels: dict[str, int] = {"": logging.DEBUG if debug else logging.WARNING}
    if not debug:
        # The exporters' own retries and failures would print tracebacks; the demo reports them in one line.
        levels.update({"opentelemetry": logging.CRITICAL, "otelagents.telemetry": logging.ERROR})
        levels.update(dict.fromkeys(("httpx", "httpx2", "httpcore", "openai", "grpc", "asyncio"), logging.ERROR))
    saved_handlers = root.handlers[:]
    saved_levels = {name: logging.getLogger(name).level for name in levels}
    root.handlers[:] = [handler]
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    try:
        yield
    finally:
        root.handlers[:] = saved_handlers
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)


class _OneLine(logging.Formatter):
    def __init__(self, debug: bool) -> None:
        super().__init__(f"{PROG}: %(levelname)s: %(message)s")
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        if self.debug:
            return super().format(record)
        return self.formatMessage(self._with_message(record)).splitlines()[0]

    def _with_message(self, record: logging.LogRecord) -> logging.LogRecord:
        record.message = record.getMessage()
        record.levelname = record.levelname.lower()
        return record


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``). Returns the exit code."""
    out, err = sys.stdout, sys.stderr
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        err.write(f"{PROG}: error: {exc}\n")
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    if args.command is None:
        parser.print_help(err)
        return EXIT_USAGE
    debug = bool(args.debug)
    prefix = f"{PROG} {args.command}"
    try:
        if args.command == "profile":
            from ._profile import run as run_profile

            port = args.metrics_port if args.metrics_port is not None else _default_metrics_port()
            with _logging(debug, err):
                return run_profile(args, port, out, err)
        from ._demo import DemoOptions, run
        from ._target import target_spec

        if args.concurrency is not None and args.runs is None:
            raise CLIError("--concurrency needs --runs N (load mode)", usage=True)
        if args.runner == "agents-sdk" and args.runs is not None:
            raise CLIError("--runs (load mode) runs on otelagents' runner; drop --runner agents-sdk", usage=True)
        options = DemoOptions(
            scenario=args.scenario,
            target=target_spec(args.model, args.base_url, args.api, args.fast),
            metrics_host="127.0.0.1",
            metrics_port=args.metrics_port if args.metrics_port is not None else _default_metrics_port(),
            serve=args.serve,
            otlp_endpoint=args.otlp_endpoint,
            otlp_protocol=args.otlp_protocol,
            runs=args.runs,
            concurrency=args.concurrency or 4,
            runner=args.runner,
        )
        with _logging(debug, err):
            return run(options, out, err)
    except CLIError as exc:
        if debug:
            traceback.print_exc(file=err)
        err.write(f"{prefix}: error: {exc.message}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        err.write(f"\n{prefix}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`otelagents demo | head`): stop quietly
        _silence_stdout()
        return EXIT_RUNTIME
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, the traceback on --debug
        if debug:
            traceback.print_exc(file=err)
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        hint = "" if debug else " (run again with --debug for the traceback)"
        err.write(f"{prefix}: unexpected error: {type(exc).__name__}: {message}{hint}\n")
        return EXIT_RUNTIME
