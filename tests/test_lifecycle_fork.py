"""Production lifecycle (issue 15): ``setup()`` then ``fork()`` (gunicorn ``--preload``, multiprocessing):
the child runs agents, its telemetry is its own and observable, and it exits within a bound.

Each test runs a fresh Python process that calls ``setup()``, runs one agent, forks, and reports what the
parent and the child saw; spans and metrics go to the real OTLP receiver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from otelagents.telemetry import semconv as sc
from otelagents.testing.otlp import OTLPReceiver

ROOT = Path(__file__).resolve().parent.parent
TTFT = sc.METRIC_TIME_TO_FIRST_TOKEN
TTFT_PROM = sc.METRICS_BY_NAME[TTFT].prometheus_name

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")

SCRIPT = textwrap.dedent("""
    import asyncio, json, os, sys, time, urllib.request
    from otelagents import Agent, Runner
    from otelagents.testing import ScriptedModel
    from otelagents.telemetry import setup

    opts = json.loads(sys.argv[1])
    handle = setup(service_name="forky", otlp_endpoint=opts["endpoint"], prometheus_port=0,
                   metrics_interval_s=3600)

    def run(name):
        result = asyncio.run(Runner.run(Agent(name, model=ScriptedModel(["hello there"])), "go"))
        assert result.final_output == "hello there"

    def scrape(url):
        return urllib.request.urlopen(url, timeout=10).read().decode()

    run("parent-agent")  # the parent counts one run before the fork
    parent_url = handle.metrics_server.url
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        report = {"forked": handle.forked, "server_after_fork": handle.metrics_server is not None}
        if opts["serve"]:
            report["same_handle"] = setup(prometheus_port=0) is handle
        for _ in range(opts["child_runs"]):
            run("child-agent")
        if handle.metrics_server is not None:
            report["child_url"] = handle.metrics_server.url
            report["child_body"] = scrape(handle.metrics_server.url)
        report["flushed"] = handle.force_flush(10)
        os.write(write_end, json.dumps(report).encode())
        os.close(write_end)
        sys.exit(0)  # a normal exit: the atexit shutdown runs, and must be bounded
    os.close(write_end)
    data = b""
    while chunk := os.read(read_end, 65536):  # ends when the child closes its end (or dies)
        data += chunk
    started = time.monotonic()
    status = None
    while time.monotonic() - started < 60:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        status = None
    exit_s = time.monotonic() - started
    body = scrape(parent_url)
    ok = handle.shutdown(timeout_s=10)
    print(json.dumps({"child": json.loads(data or b"{}"), "exit_s": exit_s, "parent_shutdown": ok,
                      "exit_code": None if status is None else os.waitstatus_to_exitcode(status),
                      "parent_body": body}))
""")


def run_script(receiver: OTLPReceiver, *, serve: bool, child_runs: int = 2) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = str(ROOT)
    options = {"endpoint": receiver.grpc_endpoint, "serve": serve, "child_runs": child_runs}
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(options)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["stderr"] = done.stderr
    return report


def ttft_count(body: str) -> float:
    line = next(line for line in body.splitlines() if line.startswith(f"{TTFT_PROM}_count"))
    return float(line.rsplit(" ", 1)[1])


@pytest.mark.timeout(240)
def test_a_forked_child_runs_agents_exports_its_own_telemetry_and_exits(otlp_receiver: OTLPReceiver) -> None:
    report = run_script(otlp_receiver, serve=False, child_runs=2)
    child = report["child"]
    assert report["exit_code"] == 0, report["stderr"]
    assert report["exit_s"] < 20, f"the child took {report['exit_s']:.1f} s to exit"  # it used to hang forever
    assert child["forked"] is True and child["server_after_fork"] is False  # the port is the parent's
    assert child["flushed"] is True, report["stderr"]
    assert report["parent_shutdown"] is True
    # the parent's /metrics still works after the child closed its copy of the socket, and counts its own run
    assert ttft_count(report["parent_body"]) == 1

    otlp_receiver.wait_for_spans(lambda s: s.name == "invoke_agent child-agent")
    spans = otlp_receiver.spans()  # both processes flushed and shut down before the script ended
    assert len([s for s in spans if s.name == "invoke_agent child-agent"]) == 2
    assert len([s for s in spans if s.name == "invoke_agent parent-agent"]) == 1

    def counts() -> dict[str, int]:
        latest: dict[str, int] = {}
        for metric in otlp_receiver.metrics():
            if metric.name == TTFT:
                latest[metric.resource[sc_instance()]] = sum(p.count or 0 for p in metric.data_points)
        return latest

    otlp_receiver.wait_for_metrics(TTFT)
    by_instance = counts()
    # two processes, two service.instance.id values; the child reports its two runs, not the parent's one
    assert sorted(by_instance.values()) == [1, 2], by_instance
    assert {m.resource["service.name"] for m in otlp_receiver.metrics()} == {"forky"}

    # each process's spans name the same instance as its metrics: the child's tracer provider took the new id
    child_instance = next(i for i, count in by_instance.items() if count == 2)
    parent_instance = next(i for i, count in by_instance.items() if count == 1)
    assert child_instance != parent_instance
    span_instances = {(s.name, s.resource.get(sc_instance())) for s in spans if s.name.startswith("invoke_agent")}
    assert span_instances == {("invoke_agent child-agent", child_instance),
                              ("invoke_agent parent-agent", parent_instance)}, span_instances
    assert {s.resource["service.name"] for s in spans} == {"forky"}


def sc_instance() -> str:
    return "service.instance.id"


@pytest.mark.timeout(240)
def test_setup_in_the_forked_worker_serves_that_workers_metrics(otlp_receiver: OTLPReceiver) -> None:
    report = run_script(otlp_receiver, serve=True, child_runs=3)
    child = report["child"]
    assert report["exit_code"] == 0, report["stderr"]
    assert child["same_handle"] is True
    assert child["child_url"].startswith("http://127.0.0.1:")
    assert ttft_count(child["child_body"]) == 3  # only the worker's own runs
    assert ttft_count(report["parent_body"]) == 1
    assert "already called" not in report["stderr"]
