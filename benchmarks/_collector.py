"""The OTLP collector for the benchmarks: ``OTLPReceiver`` in a child process, driven over stdin/stdout.

A production application exports to a collector running elsewhere, so the receiver (which decodes every
span and metric it gets) runs in its own process and does not share the benchmark's interpreter lock. It
also plays Prometheus: ``scrape URL SECONDS`` makes it fetch an application's ``/metrics`` that often.

Protocol: the child prints its gRPC endpoint (``127.0.0.1:PORT``) on its first line, then answers each
command line with one JSON line: ``summary`` (spans, traces and how many traces are complete, see
:func:`summarize`), ``scrape URL SECONDS``, ``clear``, ``quit``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from collections import defaultdict
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from typing_extensions import Self

from benchmarks._server import _START_TIMEOUT_S, _stop

_RUN_ID_KEY = "otelagents.metadata.bench_run"


class CollectorProcess:
    """``python -m benchmarks._collector`` in a child process."""

    def __init__(self) -> None:
        argv = [sys.executable, "-m", "benchmarks._collector"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        first = self._read_line(_START_TIMEOUT_S)
        if not first.startswith("127.0.0.1:"):
            _stop(self.proc)
            raise RuntimeError(f"the OTLP collector process did not start (it printed {first!r}); run "
                               "`python -m benchmarks._collector` to see why")
        self.grpc_endpoint = f"http://{first}"
        self._lock = threading.Lock()

    def _read_line(self, timeout_s: float) -> str:
        box: list[str] = []
        stdout = self.proc.stdout
        reader = threading.Thread(target=lambda: box.append(stdout.readline() if stdout else ""), daemon=True)
        reader.start()
        reader.join(timeout_s)
        if not box:
            raise TimeoutError(f"the OTLP collector process did not answer within {timeout_s:.0f} s")
        return box[0].strip()

    def command(self, line: str, timeout_s: float = 60.0) -> Any:
        with self._lock:
            stdin = self.proc.stdin
            if stdin is None or self.proc.poll() is not None:
                raise RuntimeError("the OTLP collector process has exited")
            stdin.write(line + "\n")
            stdin.flush()
            return json.loads(self._read_line(timeout_s))

    def summary(self) -> dict[str, Any]:
        result: dict[str, Any] = self.command("summary")
        return result

    def scrape(self, url: str, interval_s: float) -> None:
        self.command(f"scrape {url} {interval_s}")

    def clear(self) -> None:
        self.command("clear")

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.command("quit", timeout_s=10)
        except (OSError, RuntimeError, TimeoutError, ValueError):
            pass
        _stop(self.proc)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def summarize(spans: Iterable[Any]) -> dict[str, Any]:
    """Spans grouped by trace. A trace is complete when it has exactly one root ``invoke_workflow`` span,
    an ``invoke_agent`` child of it and a ``chat`` child of that, and every span in it ended (received
    spans are ended ones; an end before the start counts as not ended).

    ``run_*`` figures count only the traces whose root carries a ``bench_run`` metadata id (the scale
    runs; a warm-up run has none); ``run_ids`` lists those ids, one entry per trace, sorted."""
    traces: dict[str, list[Any]] = defaultdict(list)
    count = 0
    for span in spans:
        traces[span.trace_id].append(span)
        count += 1
    complete = run_complete = run_spans = 0
    run_ids: list[int] = []
    for members in traces.values():
        roots = [s for s in members if not s.parent_span_id]
        run_id = roots[0].attributes.get(_RUN_ID_KEY) if len(roots) == 1 else None
        if run_id is not None:
            run_ids.append(int(run_id))
            run_spans += len(members)
        if _complete(members, roots):
            complete += 1
            run_complete += run_id is not None
    return {"spans": count, "traces": len(traces), "complete": complete, "run_spans": run_spans,
            "run_traces": len(run_ids), "run_complete": run_complete, "run_ids": sorted(run_ids)}


def _complete(members: list[Any], roots: list[Any]) -> bool:
    if len(roots) != 1 or not roots[0].name.startswith("invoke_workflow"):
        return False
    root = roots[0]
    agent_ids = {s.span_id for s in members
                 if s.parent_span_id == root.span_id and s.name.startswith("invoke_agent")}
    has_chat = any(s.parent_span_id in agent_ids and s.name.startswith("chat") for s in members)
    ended = all(s.end_time_unix_nano >= s.start_time_unix_nano > 0 for s in members)
    return bool(agent_ids) and has_chat and ended


def _scraper(url: str, interval_s: float, stop: threading.Event, tally: dict[str, int]) -> None:
    while not stop.wait(interval_s):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                response.read()
            tally["scrapes"] += 1
        except OSError:
            tally["scrape_errors"] += 1


def main() -> int:
    from otelagents.testing.otlp import OTLPReceiver

    stop = threading.Event()
    tally = {"scrapes": 0, "scrape_errors": 0}
    with OTLPReceiver() as receiver:
        print(receiver.grpc_endpoint, flush=True)
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            answer: dict[str, Any]
            if words[0] == "summary":
                answer = {**summarize(receiver.spans()), **tally,
                          "metric_exports": sum(1 for m in receiver.metrics() if m.name == "otelagents.info")}
            elif words[0] == "scrape" and len(words) == 3:
                threading.Thread(target=_scraper, args=(words[1], float(words[2]), stop, tally),
                                 daemon=True).start()
                answer = {"ok": True}
            elif words[0] == "clear":
                receiver.clear()
                answer = {"ok": True}
            elif words[0] == "quit":
                print(json.dumps({"ok": True}), flush=True)
                break
            else:
                answer = {"error": f"unknown command {line.strip()!r}"}
            print(json.dumps(answer), flush=True)
    stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
