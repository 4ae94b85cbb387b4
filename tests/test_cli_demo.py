"""``otelagents demo`` as a user runs it: a subprocess (``python -m otelagents``), real ``/metrics`` scrapes,
a real OpenAI-compatible server for ``--model``, a real OTLP receiver for ``--otlp-endpoint``.

Usage errors are checked in process (``main(argv)`` returns before anything starts); everything that runs
agents or serves ports runs in a child process, as on a user's machine.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from otelagents.cli import main
from otelagents.testing.otlp import OTLPReceiver
from otelagents.testing.server import OpenAICompatServer, RecordedRequest, Reply

ROOT = Path(__file__).resolve().parent.parent
URL = re.compile(r"http://127\.0\.0\.1:\d+/metrics")
SPAN_KINDS = ("invoke_workflow demo jokes", "invoke_agent Joker", "chat scripted-demo",
              "execute_tool how_many_jokes", "execute_tool transfer_to_pun_specialist", "invoke_agent Triage",
              "invoke_agent Pun specialist")


# --- helpers (test_readme imports these) ---------------------------------------------------------------------
def clean_env(**extra: str) -> dict[str, str]:
    """The environment without OPENAI_* and OTEL_* variables (so the host's settings cannot leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OTEL_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "otelagents", *args], capture_output=True, text=True,
                          timeout=timeout, env=env or clean_env(), cwd=ROOT)


def demo_responder(request: RecordedRequest) -> Reply:
    """What a cooperative model answers to the demo's scenarios (and to the seed's examples)."""
    body = request.body if isinstance(request.body, dict) else {}
    tools = [t.get("name") or t.get("function", {}).get("name") for t in body.get("tools") or []]
    items = body.get("input") or body.get("messages") or []
    answered = any(isinstance(i, dict) and (i.get("type") == "function_call_output" or i.get("role") == "tool")
                   for i in items)
    if "how_many_jokes" in tools and not answered:
        return Reply.tool_calls([("how_many_jokes", {})])
    if "transfer_to_pun_specialist" in tools:
        return Reply.handoff("transfer_to_pun_specialist")
    return Reply.text("1. A joke about UDP: you might not get it.\n2. A joke about TCP: you will get it.",
                      ttft=0.02, gap=0.005)


def metric_total(body: str, sample_name: str) -> float:
    """The sum of one sample name over every series of a Prometheus text exposition."""
    total = 0.0
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == sample_name:
                total += sample.value
    return total


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


class Tap:
    """Reads a child's stdout in a thread, keeping each chunk with the time it arrived."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        self._fd = process.stdout.fileno()
        self.chunks: list[tuple[float, bytes]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            data = os.read(self._fd, 65536)
            if not data:
                return
            with self._lock:
                self.chunks.append((time.monotonic(), data))

    def text(self) -> str:
        with self._lock:
            return b"".join(c for _, c in self.chunks).decode()

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.text())
            if match:
                return match
            time.sleep(0.01)
        raise AssertionError(f"{pattern!r} did not appear within {timeout} s; output so far:\n{self.text()}")

    def arrival_times(self, start: int, end: int) -> list[float]:
        """When the chunks holding characters ``start:end`` of ``text()`` arrived (ASCII text)."""
        times, offset = [], 0
        with self._lock:
            chunks = list(self.chunks)
        for at, data in chunks:
            if offset < end and offset + len(data) > start:
                times.append(at)
            offset += len(data)
        return times


@pytest.fixture
def demo_server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer(responder=demo_responder) as server:
        yield server


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert "Traceback" not in stderr
    return lines[0]


# --- the demo --------------------------------------------------------------------------------------------------
def test_demo_streams_every_scenario_then_reports_what_the_telemetry_saw() -> None:
    result = run_cli("demo", "--fast", "--metrics-port", "0")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert result.stderr == ""
    assert URL.search(out.splitlines()[2])  # the /metrics URL comes before any run
    assert "Joker: 1. Why did the developer go broke?" in out
    tools = re.search(r"-- tool output: (\d+)\n(.*?)\n\n--- what the telemetry saw", out, re.S)
    assert tools is not None
    numbered = re.findall(r"^(?:Joker: )?(\d+)\. ", tools.group(2), re.M)
    assert numbered == [str(i) for i in range(1, int(tools.group(1)) + 1)]  # as many jokes as the tool said
    assert "-- handoff: Triage -> Pun specialist\nPun specialist: Here is one about databases" in out
    assert len(re.findall(r"time to first text +\d[\d.,]* ms +\(the run's start", out)) == 3
    assert len(re.findall(r"time to first token +\d[\d.,]* ms +first chunk after \d[\d.,]* ms", out)) == 3
    estimate = r"(~[\d.,]+ ms|< [\d.,]+ ms|> [\d.,]+ ms)"
    assert len(re.findall(rf"inter-token gap +p50 {estimate} +p95 {estimate} +p99 {estimate} +mean", out)) == 3
    assert out.count("~ marks a quantile estimated from histogram buckets") == 3
    assert len(re.findall(r"decode rate +[\d.,]+ tokens/s", out)) == 3
    assert len(re.findall(r"duration +[\d.,]+ ms\n", out)) == 3
    assert len(re.findall(r"tokens +[1-9]\d* input, [1-9]\d* output", out)) == 3
    assert re.findall(r"tool calls +(\d+) +handoffs (\d+)", out) == [("0", "0"), ("1", "0"), ("0", "1")]
    for kind in SPAN_KINDS:
        assert re.search(rf"{re.escape(kind)} +[\d.,]+ ms", out), kind
    # The tree nests: agent under workflow, chat and tools under the agent.
    assert re.search(r"\n +invoke_workflow demo tools .*\n +└─ invoke_agent Joker .*\n +├─ chat scripted-demo .*\n"
                     r" +├─ execute_tool how_many_jokes .*\n +└─ chat scripted-demo ", out)
    # Each run's TTFT line is the first chat span's attribute, as the tree shows it.
    reports = out.split("--- what the telemetry saw")[1:]
    assert len(reports) == 3
    for report in reports:
        summary_ttft = re.search(r"time to first token +([\d.,]+ ms)", report)
        first_chat_ttft = re.search(r"─ chat scripted-demo +[\d.,]+ ms +ttft ([\d.,]+ ms)", report)
        assert summary_ttft and first_chat_ttft and summary_ttft.group(1) == first_chat_ttft.group(1)
    assert re.search(r"gen_ai_client_operation_duration_seconds_count 5\b", out)  # 1 + 2 + 2 model calls


def test_metrics_answer_while_the_run_streams() -> None:
    process = subprocess.Popen([sys.executable, "-m", "otelagents", "demo", "--scenario", "tools",
                                "--metrics-port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=clean_env(), cwd=ROOT)
    try:
        tap = Tap(process)
        url = tap.wait_for(URL.pattern).group(0)
        tap.wait_for(r"-- tool output: \d+\n")
        body = scrape(url)  # the first model call (the tool call) has ended, the answer has not
        assert process.poll() is None
        assert metric_total(body, "gen_ai_client_operation_duration_seconds_count") == 1
        assert metric_total(body, "gen_ai_execute_tool_duration_seconds_count") == 1
        answer = tap.wait_for(r"Joker: 1\. [^\n]*\n")
        assert process.poll() is None or "what the telemetry saw" in tap.text()
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    # The first answer line arrived in many pieces over time: the text streamed, paced like a hosted model.
    times = tap.arrival_times(answer.start(), answer.end())
    assert len(times) >= 5 and times[-1] - times[0] >= 0.15, times
    ttft = float(re.findall(r"ttft ([\d.]+) ms", tap.text())[-1])
    assert 200 <= ttft <= 2000  # ~300 ms scripted, generous for a loaded machine


def test_serve_keeps_metrics_up_until_ctrl_c_and_they_match_the_report() -> None:
    process = subprocess.Popen([sys.executable, "-m", "otelagents", "demo", "--fast", "--metrics-port", "0",
                                "--serve"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(),
                               cwd=ROOT)
    try:
        tap = Tap(process)
        url = tap.wait_for(URL.pattern).group(0)
        tap.wait_for(r"serving http://\S+ until Ctrl-C\n")
        body = scrape(url)
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 0
    assert tap.text().endswith("stopped serving /metrics\n")
    out = tap.text()
    gaps = sum(int(n) for n in re.findall(r"over (\d+) gaps", out))
    assert gaps > 0
    assert metric_total(body, "gen_ai_client_operation_time_per_output_chunk_seconds_count") == gaps
    assert metric_total(body, "gen_ai_client_operation_duration_seconds_count") == 5
    assert metric_total(body, "otelagents_handoffs_total") == 1
    ttft_spans = [float(v.replace(",", "")) for v in re.findall(r"ttft ([\d.,]+) ms", out)]
    ttft_metric = metric_total(body, "otelagents_client_time_to_first_token_seconds_sum") * 1000
    assert ttft_metric == pytest.approx(sum(ttft_spans), abs=0.05 * len(ttft_spans) + 0.01)
    with pytest.raises(OSError):
        scrape(url)  # closed after Ctrl-C


# --- load mode -------------------------------------------------------------------------------------------------
def test_load_mode_prints_progress_and_a_summary_table() -> None:
    result = run_cli("demo", "--runs", "20", "--concurrency", "5", "--fast", "--metrics-port", "0")
    assert result.returncode == 0, result.stderr
    progress = result.stderr.strip().splitlines()
    assert progress and all(re.fullmatch(r"\[[#-]{24}\] \d+/20 runs  0 errors  [\d.]+ runs/s", p) for p in progress)
    assert progress[-1].startswith("[" + "#" * 24 + "] 20/20 runs")
    rows = {m.group(1): m.groups()[1:] for m in re.finditer(
        r"\n  (demo \w+|all runs) +(\d+) +(\d+) +([\d.]+)" + r" +([\d.,]+ ms)" * 6, result.stdout)}
    assert {k: v[:2] for k, v in rows.items()} == {"demo jokes": ("7", "0"), "demo tools": ("7", "0"),
                                                   "demo handoff": ("6", "0"), "all runs": ("20", "0")}
    assert "first text p50" in result.stdout and "TTFT p50" in result.stdout
    assert re.search(r"inter-token gap \(histogram estimate\): p50 [~<>]", result.stdout)
    # In the tools and handoff scenarios the run's first text comes after the first call's first token.
    for name in ("demo tools", "demo handoff"):
        first_text, ttft = (float(v.removesuffix(" ms").replace(",", "")) for v in (rows[name][3], rows[name][5]))
        assert first_text > ttft, (name, rows[name])


# --- against a real HTTP model server --------------------------------------------------------------------------
@pytest.mark.parametrize("api", ["responses", "chat_completions"])
def test_model_flag_runs_the_scenarios_against_a_server(api: str, demo_server: OpenAICompatServer) -> None:
    result = run_cli("demo", "--model", "gpt-test", "--base-url", demo_server.base_url, "--api", api,
                     "--metrics-port", "0")
    assert result.returncode == 0, result.stderr
    paths = {r.path for r in demo_server.requests}
    assert paths == {"/v1/responses" if api == "responses" else "/v1/chat/completions"}
    assert len(demo_server.requests) == 5
    assert all(r.body["model"] == "gpt-test" and r.body["stream"] is True for r in demo_server.requests)
    out = result.stdout
    assert "Joker: 1. A joke about UDP" in out and "-- handoff: Triage -> Pun specialist" in out
    assert f"over the {api} API" in out
    assert len(re.findall(r"chat gpt-test +[\d.,]+ ms +ttft", out)) == 5


def test_load_mode_against_a_server(demo_server: OpenAICompatServer) -> None:
    result = run_cli("demo", "--model", "gpt-test", "--base-url", demo_server.base_url, "--runs", "9",
                     "--concurrency", "3", "--metrics-port", "0")
    assert result.returncode == 0, result.stderr
    assert re.search(r"\n  all runs +9 +0 ", result.stdout)
    assert len(demo_server.requests) == 15  # 3 x (1 + 2 + 2)


# --- OTLP ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_otlp_endpoint_sends_traces_and_metrics(protocol: str, otlp_receiver: OTLPReceiver) -> None:
    endpoint = otlp_receiver.grpc_endpoint if protocol == "grpc" else otlp_receiver.http_endpoint
    result = run_cli("demo", "--fast", "--scenario", "handoff", "--metrics-port", "0",
                     env=clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_EXPORTER_OTLP_PROTOCOL=protocol))
    assert result.returncode == 0, result.stderr
    assert "otlp     sent the traces and metrics" in result.stdout
    spans = otlp_receiver.wait_for_spans(6)
    names = {s.name for s in spans}
    assert {"invoke_workflow demo handoff", "invoke_agent Triage", "invoke_agent Pun specialist",
            "chat scripted-demo", "execute_tool transfer_to_pun_specialist"} <= names
    assert {s.resource.get("service.name") for s in spans} == {"otelagents-demo"}
    assert len({s.trace_id for s in spans}) == 1
    metrics = otlp_receiver.wait_for_metrics("otelagents.client.time_to_first_token")
    assert metrics


# --- errors a user can cause -----------------------------------------------------------------------------------
def test_taken_metrics_port_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert main(["demo", "--fast", "--metrics-port", port]) == 1
        plain = capsys.readouterr()
        assert main(["demo", "--fast", "--metrics-port", port, "--debug"]) == 1
        debug = capsys.readouterr()
    line = _one_line(plain.err)
    assert line == (f"otelagents demo: error: cannot serve /metrics on 127.0.0.1:{port}: the port is already in "
                    "use (another otelagents demo?). Pass --metrics-port with a free port, or --metrics-port 0 "
                    "to pick one.")
    assert plain.out == ""
    assert "Traceback" in debug.err and "MetricsPortInUseError" in debug.err
    assert debug.err.rstrip().endswith(line)


def test_unreachable_base_url_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        code = main(["demo", "--fast", "--scenario", "jokes", "--metrics-port", "0", "--model", "gpt-test",
                     "--base-url", f"http://127.0.0.1:{port}/v1"])
    assert code == 1
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("otelagents demo: error: cannot reach the model server at "
                           f"http://127.0.0.1:{port}/v1")
    assert "--base-url" in line


def test_real_model_without_a_key_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert main(["demo", "--model", "gpt-4.1-mini"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    line = _one_line(captured.err)
    assert "OPENAI_API_KEY" in line and "--base-url" in line


@pytest.mark.parametrize(("argv", "needle"), [
    (["demo", "--runs", "0"], "--runs: must be at least 1"),
    (["demo", "--runs", "many"], "--runs: expected a whole number"),
    (["demo", "--concurrency", "0", "--runs", "3"], "--concurrency: must be at least 1"),
    (["demo", "--concurrency", "3"], "--concurrency needs --runs"),
    (["demo", "--metrics-port", "70000"], "between 0 and 65535"),
    (["demo", "--scenario", "nope"], "invalid choice: 'nope'"),
    (["demo", "--otlp-protocol", "udp"], "invalid choice: 'udp'"),
    (["demo", "--api", "chat_completions"], "--api needs --model"),
    (["demo", "--model", "m", "--base-url", "localhost:8000"], "is not an http(s) URL"),
    (["demo", "--bogus"], "unrecognized arguments: --bogus"),
    (["nope"], "invalid choice: 'nope'"),
])
def test_bad_flags_are_one_line_and_exit_2(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert needle in _one_line(captured.err)
    assert captured.out == ""


def test_bad_prometheus_port_variable_is_one_line(capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_PORT", "ninety")
    assert main(["demo", "--fast"]) == 2
    assert "OTEL_EXPORTER_PROMETHEUS_PORT='ninety'" in _one_line(capsys.readouterr().err)


# --- the entry points ------------------------------------------------------------------------------------------
def test_console_script_and_module_share_main(capsys: pytest.CaptureFixture[str]) -> None:
    scripts = re.search(r"\[project\.scripts\]\n(.*?)\n\n", (ROOT / "pyproject.toml").read_text(), re.S)
    assert scripts is not None and scripts.group(1) == 'otelagents = "otelagents.cli:main"'
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == "otelagents 0.1.0"
    assert main([]) == 2
    assert "demo" in capsys.readouterr().err
    assert main(["demo", "--help"]) == 0
    help_text = capsys.readouterr().out
    for flag in ("--scenario", "--fast", "--metrics-port PORT", "--serve", "--otlp-endpoint URL", "--otlp-protocol",
                 "--model NAME", "--base-url URL", "--api", "--runs N", "--concurrency C", "--debug"):
        assert flag in help_text
