"""``otelagents profile`` as a user runs it: the files it writes (validated against the documented JSON
Schema), traces over real OTLP and ``/metrics`` scraped while it runs, ``--compare``, and the one-line
errors for what a user can get wrong."""

from __future__ import annotations

import itertools
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

from otelagents.cli import main
from otelagents.profile import RECORD, SCHEMA
from otelagents.profile._driver import release_times
from otelagents.testing.otlp import OTLPReceiver
from otelagents.testing.server import OpenAICompatServer, Reply
from tests.test_cli_demo import clean_env

pytestmark = pytest.mark.timeout(180)


def _results(directory: Path) -> tuple[dict[str, object], list[dict[str, object]]]:
    document = json.loads((directory / "results.json").read_text())
    records = [json.loads(line) for line in (directory / "requests.jsonl").read_text().splitlines()]
    return document, records


def _validate(directory: Path) -> tuple[dict[str, object], list[dict[str, object]]]:
    document, records = _results(directory)
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    for record in records:
        jsonschema.Draft202012Validator(RECORD).validate(record)
    return document, records


def test_offline_profile_writes_results_records_and_report(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code = main(["profile", "--fast", "--concurrency", "1,3", "--requests", "4", "--slo", "ttft=5,e2e=30",
                 "--output", str(out), "--metrics-port", "0"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    document, records = _validate(out)
    runs = document["runs"]
    assert isinstance(runs, list) and [run["concurrency"] for run in runs] == [1, 3]
    assert all(run["requests"] == run["completed"] == 4 and run["goodput"]["requests"] == 4 for run in runs)
    assert sorted((r["concurrency"], r["index"]) for r in records) == [(c, i) for c in (1, 3) for i in range(4)]
    assert document["target"] == {"base_url": None, "model": "scripted-demo", "api": "responses",
                                  "scenario": "text"}
    assert all(isinstance(r["trace_id"], str) and len(r["trace_id"]) == 32 for r in records)
    lines = captured.out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["conc", "req"])
    assert [line.split()[0] for line in lines[header + 1:header + 3]] == ["1", "3"]
    assert "TTFV p50" in lines[header] and "goodput" in lines[header]
    assert "concurrency   3 [########################] 4/4 requests  0 errors" in captured.err
    page = (out / "report.html").read_text()
    # self-contained: no script, stylesheet or image is loaded from anywhere (the browser test checks it too)
    assert not re.findall(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=", page)
    assert all(f'id="{plot}"' in page for plot in ("ttft-distribution", "itl-distribution",
                                                  "latency-vs-concurrency", "throughput-vs-concurrency"))


def test_schema_rejects_a_broken_document(tmp_path: Path) -> None:
    assert main(["profile", "--fast", "--concurrency", "2", "--requests", "2", "--no-report", "--output",
                 str(tmp_path), "--metrics-port", "0"]) == 0
    document, _ = _results(tmp_path)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    validator.validate(document)
    runs = document["runs"]
    assert isinstance(runs, list)
    del runs[0]["ttft_s"]["p99"]
    assert not validator.is_valid(document)
    assert not (tmp_path / "report.html").exists()  # --no-report


def test_no_report_says_when_an_older_report_is_left(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["profile", "--fast", "--concurrency", "1", "--requests", "1", "--output", str(tmp_path),
            "--metrics-port", "0", "--warmup", "0"]
    assert main(argv) == 0 and (tmp_path / "report.html").exists()
    assert "from an earlier profile" not in capsys.readouterr().out
    assert main([*argv, "--no-report"]) == 0
    assert f"note     {tmp_path / 'report.html'} is from an earlier profile" in capsys.readouterr().out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ttft_count(url: str) -> float:
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        if family.name == "otelagents_client_time_to_first_token_seconds":
            return sum(s.value for s in family.samples if s.name.endswith("_count"))
    return 0.0


def test_against_a_server_traces_go_over_otlp_and_metrics_are_served(tmp_path: Path,
                                                                     otlp_receiver: OTLPReceiver) -> None:
    requests = 6
    port = _free_port()
    with OpenAICompatServer(responder=lambda request: Reply.long(5, ttft=0.15, gap=0.01)) as server:
        argv = ["profile", "--base-url", server.base_url, "--model", "gpt-test", "--concurrency", "1",
                "--requests", str(requests), "--output", str(tmp_path), "--metrics-port", str(port),
                "--otlp-endpoint", otlp_receiver.grpc_endpoint, "--trace-url",
                "http://127.0.0.1:3000/explore?traceId={trace_id}"]
        codes: list[int] = []
        worker = threading.Thread(target=lambda: codes.append(main(argv)), daemon=True)
        worker.start()
        scraped = 0.0
        for _ in range(200):  # bounded: ~10 s at most
            worker.join(0.05)
            if not worker.is_alive():
                break
            try:
                scraped = max(scraped, _ttft_count(f"http://127.0.0.1:{port}/metrics"))
            except OSError:
                continue  # not listening yet
        worker.join(60)
        served = len(server.requests)
    assert codes == [0]
    assert scraped >= 1  # the runs show up on /metrics while the profile is running
    assert served == requests + 1  # the warm-up request, and no retries
    document, records = _validate(tmp_path)
    spans = otlp_receiver.wait_for_spans(lambda s: s.name.startswith("invoke_workflow"))
    spans = otlp_receiver.wait_for_spans(requests * 3)
    workflows = {s.trace_id for s in spans if s.name == "invoke_workflow profile text"}
    assert workflows == {r["trace_id"] for r in records}  # one trace per request; the warm-up is not traced
    assert {s.name for s in spans} >= {"invoke_workflow profile text", "invoke_agent Joker", "chat gpt-test"}
    assert {s.resource.get("service.name") for s in spans} == {"otelagents-profile"}
    assert otlp_receiver.wait_for_metrics("otelagents.client.time_to_first_token")
    page = (tmp_path / "report.html").read_text()
    slowest = max(records, key=lambda r: r["e2e_s"])
    assert f'href="http://127.0.0.1:3000/explore?traceId={slowest["trace_id"]}"' in page


def test_every_request_failing_is_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with OpenAICompatServer(responder=lambda request: Reply.status(500, message="the model is down")) as server:
        code = main(["profile", "--base-url", server.base_url, "--model", "m", "--concurrency", "2", "--requests",
                     "2", "--warmup", "0", "--output", str(tmp_path), "--metrics-port", "0", "--no-report"])
    err = capsys.readouterr().err
    assert code == 1
    assert "otelagents profile: error: every request failed (the first: InternalServerError: Error code: 500" in err
    assert "is http://127.0.0.1:" in err


def _profile_folder(path: Path, levels: str) -> Path:
    assert main(["profile", "--fast", "--concurrency", levels, "--requests", "2", "--no-report", "--output",
                 str(path), "--metrics-port", "0", "--warmup", "0"]) == 0
    return path


def test_compare_two_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _profile_folder(tmp_path / "a", "1,2")
    b = _profile_folder(tmp_path / "b", "2,4")
    capsys.readouterr()
    assert main(["profile", "--compare", str(a), str(b), "--output", str(tmp_path / "cmp")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"A: {a}") and out[1].startswith(f"B: {b}")
    assert out[-1] == f"report   {tmp_path / 'cmp' / 'compare.html'}"
    page = (tmp_path / "cmp" / "compare.html").read_text()
    assert str(a) in page and str(b) in page and 'id="compare"' in page
    assert not re.findall(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=", page)  # self-contained
    rows = [line.split() for line in out[3:-1]]
    assert {row[0] for row in rows} == {"2"}  # the only level in both
    figures = [" ".join(row[1:3]) for row in rows]
    assert {"TTFT p50", "ITL p99", "E2E p99"} <= set(figures)
    document_a, _ = _results(a)
    runs = document_a["runs"]
    assert isinstance(runs, list)
    ttft_a = runs[1]["ttft_s"]["p50"] * 1000
    row = next(r for r in rows if r[1:3] == ["TTFT", "p50"])
    assert row[4] == f"{ttft_a:,.1f}"


def test_compare_page_goes_to_the_current_folder_or_nowhere_with_no_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    a = _profile_folder(tmp_path / "a", "1")
    b = _profile_folder(tmp_path / "b", "1")
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main(["profile", "--compare", str(a), str(b), "--no-report"]) == 0
    assert list(here.iterdir()) == [] and "report" not in capsys.readouterr().out
    assert main(["profile", "--compare", str(a), str(b)]) == 0
    assert [p.name for p in here.iterdir()] == ["compare.html"]
    assert capsys.readouterr().out.splitlines()[-1] == f"report   {here / 'compare.html'}"
    (tmp_path / "file").write_text("")
    assert main(["profile", "--compare", str(a), str(b), "--output", str(tmp_path / "file")]) == 2
    assert "it is a file, not a folder" in capsys.readouterr().err


def test_compare_without_plotly_says_how_to_install(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    a = _profile_folder(tmp_path / "a", "1")
    monkeypatch.setitem(sys.modules, "plotly", None)  # as if plotly were not installed
    capsys.readouterr()
    assert main(["profile", "--compare", str(a), str(a), "--output", str(tmp_path / "cmp")]) == 2
    assert "pip install 'otelagents[profile]'" in capsys.readouterr().err
    assert not (tmp_path / "cmp").exists()
    assert main(["profile", "--compare", str(a), str(a), "--no-report"]) == 0


@pytest.mark.parametrize(("make", "message"), [
    (lambda tmp: [str(tmp / "missing"), str(tmp)], "holds no results.json"),
    (lambda tmp: [str(_profile_folder(tmp / "x", "1")), str(_profile_folder(tmp / "y", "2"))],
     "no concurrency level in common"),
])
def test_compare_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, message: str) -> None:
    folders = make(tmp_path)  # type: ignore[operator]
    capsys.readouterr()
    assert main(["profile", "--compare", *folders]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["--base-url", "http://127.0.0.1:9/v1"], "--base-url needs --model NAME"),
    (["--model", "gpt-4.1"], "--model gpt-4.1 needs --base-url (or OPENAI_BASE_URL), or OPENAI_API_KEY"),
    (["--base-url", "ftp://x", "--model", "m"], "is not an http(s) URL"),
    (["--concurrency", "1,x"], "expected whole numbers separated by commas"),
    (["--concurrency", "0"], "each level must be at least 1"),
    (["--rate", "0"], "must be a positive number of requests per second"),
    (["--requests", "0"], "must be at least 1"),
    (["--slo", "ttft"], "expected NAME=SECONDS pairs"),
    (["--trace-url", "http://127.0.0.1:3000/trace"], "has no {trace_id} placeholder"),
    (["--scenario", "nope"], "unknown scenario 'nope'"),
    (["--warmup", "-1"], "--warmup must be 0 or more"),
    (["--arrival", "poisson"], "--arrival poisson needs --rate R"),
    (["--api", "chat_completions"], "--api chat_completions needs a server: give --base-url URL and --model"),
    (["--api", "responses"], "--api responses needs a server"),
])
def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch, argv: list[str], message: str) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["profile", "--output", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "results.json").exists()


def test_output_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "--fast"]) == 2
    assert "--output DIR is needed" in capsys.readouterr().err


def test_missing_profile_extra_says_how_to_install(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "plotly", None)  # as if plotly were not installed
    assert main(["profile", "--fast", "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "pip install 'otelagents[profile]'" in err and "--no-report" in err
    assert not (tmp_path / "results.json").exists()  # it says so before profiling, not after
    assert main(["profile", "--fast", "--concurrency", "1", "--requests", "1", "--no-report", "--output",
                 str(tmp_path), "--metrics-port", "0"]) == 0


def test_ctrl_c_keeps_the_finished_levels(tmp_path: Path) -> None:
    served = itertools.count()

    def responder(request: object) -> Reply:  # the warm-up and level 1 answer; level 2 stalls
        return Reply.long(3) if next(served) < 3 else Reply.fault("stall", stall_seconds=60)

    with OpenAICompatServer(responder=responder) as server:
        child = subprocess.Popen(
            [sys.executable, "-m", "otelagents", "profile", "--base-url", server.base_url, "--model", "m",
             "--concurrency", "1,2", "--requests", "2", "--output", str(tmp_path), "--metrics-port", "0",
             "--no-report"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
        try:
            for _ in range(600):  # bounded: 60 s
                if len(server.requests) >= 5 or child.poll() is not None:
                    break
                time.sleep(0.1)
            assert len(server.requests) >= 5, "level 2 never started"
            child.send_signal(signal.SIGINT)
            _, err = child.communicate(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(10)
    assert child.returncode == 130, err
    assert "interrupted: the 1 finished load level(s) are in" in err
    document, records = _validate(tmp_path)
    assert document["interrupted"] is True
    runs = document["runs"]
    assert isinstance(runs, list) and [run["concurrency"] for run in runs] == [1]
    assert runs[0]["completed"] == 2 and len(records) == 2


def test_rate_and_a_scenario_file(tmp_path: Path) -> None:
    scenario = tmp_path / "mine.json"
    scenario.write_text(json.dumps({"name": "support", "prompts": ["first question", "second question"]}))
    with OpenAICompatServer(responder=lambda request: Reply.long(2)) as server:
        assert main(["profile", "--base-url", server.base_url, "--model", "m", "--api", "chat_completions",
                     "--scenario", str(scenario), "--rate", "25", "--arrival", "poisson", "--seed", "5",
                     "--concurrency", "4", "--requests", "5",
                     "--max-tokens", "9", "--output", str(tmp_path / "out"), "--metrics-port", "0",
                     "--no-report", "--warmup", "0"]) == 0
        bodies = [r.body for r in server.requests]
    document, records = _validate(tmp_path / "out")
    assert document["settings"]["rate"] == 25 and document["runs"][0]["rate"] == 25  # type: ignore[index]
    assert document["target"]["scenario"] == str(scenario)  # type: ignore[index]
    assert document["settings"]["arrival"] == "poisson" and document["settings"]["seed"] == 5  # type: ignore[index]
    due = release_times(5, 25.0, "poisson", seed=5)
    assert all(r["start_s"] >= due[r["index"]] for r in records)  # type: ignore[index]
    assert all(body["max_tokens"] == 9 or body.get("max_completion_tokens") == 9 for body in bodies)
    asked = sorted(body["messages"][-1]["content"] for body in bodies)
    assert asked == ["first question"] * 3 + ["second question"] * 2


def test_serve_keeps_the_profiles_metrics_up_for_prometheus(tmp_path: Path) -> None:
    port = _free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "otelagents", "profile", "--fast", "--concurrency", "1,2", "--requests", "3",
         "--output", str(tmp_path), "--no-report", "--metrics-port", str(port), "--serve"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(child.stdout.readline, "")),  # type: ignore[union-attr]
                              daemon=True)
    reader.start()
    try:
        for _ in range(600):  # bounded: 60 s
            if any(line.startswith("serving http://127.0.0.1:") for line in lines) or child.poll() is not None:
                break
            time.sleep(0.1)
        assert any(line.startswith("serving") for line in lines), (lines, child.poll())
        # every measured request is on /metrics (the warm-up is not observed), and it stays up
        assert _ttft_count(f"http://127.0.0.1:{port}/metrics") == 6
        child.send_signal(signal.SIGTERM)
        child.wait(30)  # stdout belongs to the reader thread
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    reader.join(10)
    assert child.returncode == 0, child.stderr.read()  # type: ignore[union-attr]
    assert "stopped serving /metrics" in "".join(lines)
    assert (tmp_path / "results.json").exists()


@pytest.mark.parametrize("cap", [1, 3])
def test_max_tokens_caps_the_offline_models_answers(tmp_path: Path, cap: int) -> None:
    base = ["profile", "--fast", "--concurrency", "1", "--requests", "2", "--no-report", "--metrics-port", "0"]
    assert main([*base, "--output", str(tmp_path / "full")]) == 0
    assert main([*base, "--max-tokens", str(cap), "--output", str(tmp_path / "capped")]) == 0
    _, full = _validate(tmp_path / "full")
    document, capped = _validate(tmp_path / "capped")
    assert all(r["output_chunks"] > 3 for r in full)  # the uncapped answer is longer than any cap tried
    assert [(r["output_chunks"], r["output_tokens"], r["error"]) for r in capped] == [(cap, cap, None)] * 2
    assert document["settings"]["max_tokens"] == cap  # type: ignore[index]
