"""Production lifecycle (issue 15): the README's recipe for several worker processes, run for real.

``uvicorn --workers 2`` (spawned workers) and ``gunicorn --preload --workers 2`` (workers forked after
``setup()`` in the master) serve ``examples/workers/app.py`` against the test server; every worker's
``/metrics`` is scraped on its own port, the runs add up, and the servers stop within a bound."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from otelagents.telemetry import semconv as sc
from otelagents.testing.server import OpenAICompatServer, Reply

ROOT = Path(__file__).resolve().parent.parent
RUNS = sc.METRICS_BY_NAME[sc.METRIC_INVOKE_WORKFLOW_DURATION].prometheus_name + "_count"
REQUESTS = 12


def require_module(name: str) -> None:
    """Skip without the server package, outside CI; under ``CI=true`` fail instead (CI runs every test)."""
    if importlib.util.find_spec(name) is not None:
        return
    message = f"{name} is not installed: pip install -e '.[test]'"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI=true requires it")
    pytest.skip(message)


def free_ports(count: int) -> range:
    """``count`` consecutive ports that are free now (bounded search)."""
    for base in range(21000, 60000, 97):
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return range(base, base + count)
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free port range")


def get(url: str, timeout: float = 10) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode())


def wait_for(url: str, proc: subprocess.Popen[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited early: {proc.communicate()[1][-3000:]}")
        try:
            get(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout_s} s")


def runs_on(port: int) -> float:
    body = get(f"http://127.0.0.1:{port}/metrics")
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines() if line.startswith(RUNS))


@pytest.fixture
def model_server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer(responder=lambda request: Reply.text("pong")) as srv:
        yield srv


def start(command: list[str], model_server: OpenAICompatServer, ports: range,
          metrics_dir: Path | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    env.update(PYTHONPATH=str(ROOT), OPENAI_BASE_URL=model_server.base_url, AGENT_MODEL="gpt-test",
               METRICS_PORTS=f"{ports.start}-{ports[-1]}")
    if metrics_dir is not None:
        env["OTELAGENTS_METRICS_DIR"] = str(metrics_dir)
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def stop(proc: subprocess.Popen[str], timeout_s: float = 30) -> float:
    """SIGTERM and wait; returns how long the server took to exit (killed after ``timeout_s``)."""
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
        return float("inf")
    return time.monotonic() - started


def exercise(proc: subprocess.Popen[str], web: int, ports: range, workers: list[int]) -> None:
    """Send requests until every worker port has answered, then check that the runs add up."""
    wait_for(f"http://127.0.0.1:{web}/?q=ping", proc)
    sent = 1
    for _ in range(REQUESTS - 1):
        assert get(f"http://127.0.0.1:{web}/?q=ping") == "pong"
        sent += 1
    counts = {port: runs_on(port) for port in workers}
    assert sum(counts.values()) == sent, counts


@pytest.mark.timeout(240)
def test_uvicorn_workers_each_serve_their_metrics(model_server: OpenAICompatServer) -> None:
    require_module("uvicorn")
    web, *workers = free_ports(3)
    ports = range(workers[0], workers[-1] + 1)
    proc = start([sys.executable, "-m", "uvicorn", "--workers", "2", "--host", "127.0.0.1", "--port", str(web),
                  "examples.workers.app:app"], model_server, ports)
    try:
        exercise(proc, web, ports, workers)
    finally:
        elapsed = stop(proc)
    assert elapsed < 20, f"uvicorn took {elapsed:.1f} s to stop"


@pytest.mark.timeout(240)
def test_gunicorn_preload_forked_workers_each_serve_their_metrics(model_server: OpenAICompatServer) -> None:
    require_module("gunicorn")
    web, master, *workers = free_ports(4)
    ports = range(master, workers[-1] + 1)
    proc = start([sys.executable, "-m", "gunicorn", "--preload", "--workers", "2", "--bind",
                  f"127.0.0.1:{web}", "--graceful-timeout", "10", "-c", "examples/workers/gunicorn_conf.py",
                  "examples.workers.app:wsgi_app"], model_server, ports)
    try:
        exercise(proc, web, ports, workers)
        assert runs_on(master) == 0  # the master loaded the app and set telemetry up, but runs nothing
    finally:
        elapsed = stop(proc)
    assert elapsed < 20, f"gunicorn took {elapsed:.1f} s to stop (a worker hanging at exit?)"


@pytest.mark.timeout(240)
def test_uvicorn_workers_with_a_metrics_dir_share_one_metrics_port(model_server: OpenAICompatServer,
                                                                   tmp_path: Path) -> None:
    require_module("uvicorn")
    web, port = free_ports(2)
    proc = start([sys.executable, "-m", "uvicorn", "--workers", "2", "--host", "127.0.0.1", "--port", str(web),
                  "examples.workers.app:app"], model_server, range(port, port + 1), tmp_path)
    try:
        exercise_merged(proc, web, port, tmp_path, files=2)
    finally:
        elapsed = stop(proc)
    assert elapsed < 20, f"uvicorn took {elapsed:.1f} s to stop"


@pytest.mark.timeout(240)
def test_gunicorn_preload_master_serves_every_workers_metrics(model_server: OpenAICompatServer,
                                                              tmp_path: Path) -> None:
    require_module("gunicorn")
    web, port = free_ports(2)
    proc = start([sys.executable, "-m", "gunicorn", "--preload", "--workers", "2", "--bind",
                  f"127.0.0.1:{web}", "--graceful-timeout", "10", "-c", "examples/workers/gunicorn_conf.py",
                  "examples.workers.app:wsgi_app"], model_server, range(port, port + 1), tmp_path)
    try:
        exercise_merged(proc, web, port, tmp_path, files=3)  # the master's file too (it runs nothing)
    finally:
        elapsed = stop(proc)
    assert elapsed < 20, f"gunicorn took {elapsed:.1f} s to stop"


def exercise_merged(proc: subprocess.Popen[str], web: int, port: int, directory: Path, files: int) -> None:
    wait_for(f"http://127.0.0.1:{web}/?q=ping", proc)
    for _ in range(REQUESTS - 1):
        assert get(f"http://127.0.0.1:{web}/?q=ping") == "pong"
    assert len(list(directory.glob("*.otelagents-metrics.json"))) == files  # one per process
    deadline = time.monotonic() + 10  # workers write their files every second
    while runs_on(port) != REQUESTS and time.monotonic() < deadline:
        time.sleep(0.2)
    assert runs_on(port) == REQUESTS
