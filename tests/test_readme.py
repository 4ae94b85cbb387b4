"""Every command and code block in README.md, and every example in examples/, is exercised here.

* ``python`` blocks and ``examples/*.py`` run as scripts in a child process, with ``OPENAI_BASE_URL``
  pointing at a local OpenAI-compatible server (real HTTP), the way a user runs them against any server.
* ``bash`` blocks: each command (a line, split on ``&&``, comments dropped) is either run here (``RUNNERS``)
  or listed in ``COVERED`` with the tests that exercise what it does. A command in neither fails the suite.
* ``text`` blocks are sample output: the demo's is compared, numbers aside, with a real run.
"""

from __future__ import annotations

import functools
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from otelagents.cli import _parser
from otelagents.testing.otlp import OTLPReceiver
from otelagents.testing.server import OpenAICompatServer

from .test_cli_demo import ROOT, clean_env, demo_responder, run_cli

README = ROOT / "README.md"
EXAMPLES = ROOT / "examples"
CI_SCRIPT = ROOT / ".ci" / "run"
TEST_COMMAND = "ruff check . && mypy && python3 -m pytest -q"
INSTALL_COMMAND = 'python3 -m pip install -e ".[test]"'
SERVER_ANSWER = "1. A joke about UDP: you might not get it.\n2. A joke about TCP: you will get it."


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    line: int


def readme_blocks() -> list[Block]:
    text = README.read_text()
    blocks = []
    for match in re.finditer(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", text, re.M | re.S):
        blocks.append(Block(match.group(1).strip(), match.group(2), text.count("\n", 0, match.start()) + 1))
    return blocks


def blocks_in(language: str) -> list[Block]:
    return [b for b in readme_blocks() if b.language == language]


def bash_commands() -> list[str]:
    commands = []
    for block in blocks_in("bash"):
        for line in block.text.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.extend(part.strip() for part in line.split("&&"))
    return commands


def _python(command: str) -> list[str]:
    """``python3 ...`` as this interpreter runs it."""
    parts = shlex.split(command)
    assert parts[0] in ("python3", "python")
    return [sys.executable, *parts[1:]]


# --- bash commands run here --------------------------------------------------------------------------------
def _run_venv(tmp_path: Path) -> None:
    python = shlex.quote(sys.executable)
    script = f"{python} -m venv .venv && . .venv/bin/activate && python -c 'import sys; print(sys.prefix)'"
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).resolve() == (tmp_path / ".venv").resolve()


@functools.cache
def readme_demo() -> tuple[subprocess.CompletedProcess[str], float]:
    """``otelagents demo`` as the README runs it, once for this module: the result and its duration.

    The console script `otelagents` is `otelagents.cli:main`, as `python -m otelagents` is (test_cli_demo
    checks both). A free port keeps the run clear of anything else on 9464.
    """
    started = time.monotonic()
    result = run_cli("demo", env=clean_env(OTEL_EXPORTER_PROMETHEUS_PORT="0"), timeout=120)
    return result, time.monotonic() - started


def _run_demo(tmp_path: Path) -> None:
    result, elapsed = readme_demo()
    assert result.returncode == 0, result.stderr
    for header in ("1/3  jokes", "2/3  tools", "3/3  handoff"):
        assert header in result.stdout
    assert elapsed < 60, f"the offline demo took {elapsed:.1f} s; the README promises about 15 s"


def _tool(name: str, command: str) -> Callable[[Path], None]:
    def run(tmp_path: Path) -> None:
        if shutil.which(name) is None:
            pytest.skip(f"{name} is not installed (it comes with the dev extra: pip install -e '.[dev]')")
        result = subprocess.run(shlex.split(command), cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr

    return run


def _run_python(command: str) -> Callable[[Path], None]:
    def run(tmp_path: Path) -> None:
        result = subprocess.run(_python(command), cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr

    return run


RUNNERS: dict[str, tuple[str, Callable[[Path], None]]] = {
    # command -> (runner id, runner); commands that only make sense together share a runner
    "python3 -m venv .venv": ("venv", _run_venv),
    ". .venv/bin/activate": ("venv", _run_venv),
    "otelagents demo": ("demo", _run_demo),
    "python3 dashboards/generate.py --check": ("dashboards", _run_python("python3 dashboards/generate.py --check")),
}

# Commands not run here, each with the tests that exercise what it does (checked to exist).
COVERED: dict[str, tuple[str, ...]] = {
    INSTALL_COMMAND: ("tests/test_readme.py::test_install_and_test_commands_are_what_ci_runs",),
    **{part: ("tests/test_readme.py::test_install_and_test_commands_are_what_ci_runs",)
       for part in TEST_COMMAND.split(" && ")},
    "bash .ci/run": ("tests/test_readme.py::test_ci_script_is_safe_on_a_developers_machine",),
    "otelagents demo --runs 200 --concurrency 8 --serve": (
        "tests/test_cli_demo.py::test_load_mode_prints_progress_and_a_summary_table",
        "tests/test_cli_demo.py::test_serve_keeps_metrics_up_until_ctrl_c_and_they_match_the_report",
    ),
    "prometheus --config.file=dashboards/prometheus.yml --enable-feature=exemplar-storage": (
        "tests/test_dashboards.py::test_prometheus_config_is_valid_and_scrapes_the_exporter_port",
        "tests/test_e2e_dashboards.py::test_prometheus_loaded_and_evaluates_every_rule_healthily",
    ),
    "opentelemetry-instrument python app.py": (
        "tests/test_telemetry_zero_code.py::test_opentelemetry_instrument_on_an_unmodified_script_exports_spans_and_metrics",
    ),
    "otelcol-contrib --config dashboards/otel-collector.yaml": (
        "tests/test_dashboards.py::test_collector_pipelines_use_defined_components",
    ),
    'pip install "otelagents[agents-sdk]"': (
        "tests/test_agents_sdk_lifecycle.py::test_the_agents_sdk_extra_brings_the_sdk",
        "tests/test_agents_sdk_lifecycle.py::test_without_the_sdk_instrument_says_what_to_install",
    ),
    "opentelemetry-instrument python my_sdk_app.py": (
        "tests/test_agents_sdk_zero_code.py::test_opentelemetry_instrument_on_an_unmodified_sdk_app",
    ),
    "otelagents profile --concurrency 1,4,16 --requests 32 --output profile-offline": (
        "tests/test_profile_cli.py::test_offline_profile_writes_results_records_and_report",
        "tests/test_profile_report.py::test_report_renders_in_chromium",
    ),
    ("otelagents profile --base-url http://127.0.0.1:8000/v1 --model my-model --slo ttft=0.5,itl=0.05 "
     "--output profile-a"): (
        "tests/test_profile_cli.py::test_against_a_server_traces_go_over_otlp_and_metrics_are_served",
        "tests/test_profile.py::test_percentiles_match_the_servers_timing",
        "tests/test_profile.py::test_errors_by_type_and_goodput_are_counted_exactly",
    ),
    "otelagents profile --compare profile-offline profile-a": (
        "tests/test_profile_cli.py::test_compare_two_folders",
    ),
    "otelagents demo --runs 200 --concurrency 8 --otlp-endpoint http://127.0.0.1:4317": (
        "tests/test_cli_demo.py::test_otlp_endpoint_sends_traces_and_metrics",
        "tests/test_cli_demo.py::test_load_mode_prints_progress_and_a_summary_table",
    ),
    "OTELAGENTS_METRICS_DIR=/tmp/otelagents-metrics METRICS_PORTS=9464 uvicorn --workers 4 examples.workers.app:app": (
        "tests/test_lifecycle_workers.py::test_uvicorn_workers_with_a_metrics_dir_share_one_metrics_port",
        "tests/test_lifecycle_workers.py::test_gunicorn_preload_master_serves_every_workers_metrics",
    ),
    "uvicorn --workers 4 examples.workers.app:app": (
        "tests/test_lifecycle_workers.py::test_uvicorn_workers_each_serve_their_metrics",
    ),
    "gunicorn --preload --workers 4 -c examples/workers/gunicorn_conf.py examples.workers.app:wsgi_app": (
        "tests/test_lifecycle_workers.py::test_gunicorn_preload_forked_workers_each_serve_their_metrics",
    ),
}


def test_every_block_has_a_language_this_file_knows() -> None:
    blocks = readme_blocks()
    assert blocks, "no fenced blocks found in README.md"
    unknown = [(b.line, b.language) for b in blocks if b.language not in ("python", "bash", "text")]
    assert not unknown, f"README blocks at these lines have a language test_readme.py does not check: {unknown}"


def test_every_bash_command_is_run_or_covered() -> None:
    commands = bash_commands()
    assert commands
    unknown = [c for c in commands if c not in RUNNERS and c not in COVERED]
    assert not unknown, (f"README commands that no test runs: {unknown}. Run them in test_readme.RUNNERS or list "
                         "the tests that cover them in COVERED.")
    stale = [c for c in (*RUNNERS, *COVERED) if c not in commands]
    assert not stale, f"commands listed in test_readme.py but no longer in README.md: {stale}"
    for command, tests in COVERED.items():
        for test in tests:
            path, name = test.split("::")
            assert re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.M), f"{test} (covers {command!r})"


@pytest.mark.parametrize("runner_id", sorted({runner_id for runner_id, _ in RUNNERS.values()}))
def test_bash_command_runs(runner_id: str, tmp_path: Path) -> None:
    runner = next(run for rid, run in RUNNERS.values() if rid == runner_id)
    runner(tmp_path)


def test_install_and_test_commands_are_what_ci_runs() -> None:
    lines = [line.strip() for line in CI_SCRIPT.read_text().splitlines() if line.strip()]
    assert lines[-1] == TEST_COMMAND, "the README's test command must be the last line of .ci/run"
    assert INSTALL_COMMAND.replace(" install ", " install -q ") in lines
    readme_lines = [re.sub(r"\s+#.*$", "", line).strip() for b in blocks_in("bash") for line in b.text.splitlines()]
    assert TEST_COMMAND in readme_lines, "the README's first screen must show the test command CI runs"
    assert any(line.startswith(INSTALL_COMMAND) for line in readme_lines)


def test_ci_script_is_safe_on_a_developers_machine() -> None:
    """.ci/run uses its own venv, stops no process by name and installs Debian packages only when missing."""
    script = CI_SCRIPT.read_text()
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(r"\b(pkill|killall)\b", code), ".ci/run must stop only processes it started, by PID"
    assert "python3 -m venv" in code and '. "$venv/bin/activate"' in code
    assert "pip install" in code and code.index('. "$venv/bin/activate"') < code.index("pip install")
    assert "apt-get install" in code and "missing" in code
    result = subprocess.run(["bash", "-n", str(CI_SCRIPT)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


# --- python blocks and examples ----------------------------------------------------------------------------
@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer(responder=demo_responder) as srv:
        yield srv


def run_script(source: Path, server: OpenAICompatServer, tmp_path: Path,
               **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(source)], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env=clean_env(OPENAI_BASE_URL=server.base_url, OTEL_EXPORTER_PROMETHEUS_PORT="0",
                                        PYTHONPATH=str(ROOT), **env))


# What each README python block prints, keyed by a string only that block contains.
PYTHON_EXPECTATIONS: dict[str, str] = {
    "telemetry = setup(": SERVER_ANSWER + r"\nmetrics: http://127\.0\.0\.1:\d+/metrics\n",
    "ConsoleSpanExporter": r'(?s).*"name": "invoke_workflow Agent workflow".*',
    "ScriptedModel": "Why did the scarecrow win an award\\? He was outstanding in his field\\.\n",
    'input="Please tell me 5 jokes.")\n    async for': SERVER_ANSWER,
    "OpenAIAgentsInstrumentor().instrument(": SERVER_ANSWER + r"\nmetrics: http://127\.0\.0\.1:\d+/metrics\n",
    'SQLiteSession("user-42")': SERVER_ANSWER + "\nblocked\n3 items in the session\n",
}


def _expectation(block: Block) -> str:
    keys = [key for key in PYTHON_EXPECTATIONS if key in block.text]
    if "telemetry = setup(" in keys:  # the setup() example also streams the jokes
        keys = ["telemetry = setup("]
    assert len(keys) == 1, (f"README python block at line {block.line} matches {keys}; give it its own entry in "
                            "test_readme.PYTHON_EXPECTATIONS")
    return PYTHON_EXPECTATIONS[keys[0]]


@pytest.mark.parametrize("block", blocks_in("python"), ids=lambda b: f"line{b.line}")
def test_python_block_runs(block: Block, server: OpenAICompatServer, tmp_path: Path) -> None:
    script = tmp_path / "block.py"
    script.write_text(block.text)
    sdk_env = {"OPENAI_API_KEY": "test"} if "from agents import" in block.text else {}  # the SDK's client needs one
    result = run_script(script, server, tmp_path, **sdk_env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert re.fullmatch(_expectation(block), result.stdout), result.stdout


def test_every_python_block_has_an_expectation() -> None:
    blocks = blocks_in("python")
    assert len(blocks) == len(PYTHON_EXPECTATIONS)
    for block in blocks:
        _expectation(block)


def test_first_python_block_is_the_seed_example_with_otelagents() -> None:
    first = blocks_in("python")[0].text
    assert "from otelagents import Agent, Runner\n" in first and "from agents" not in first
    assert 'Runner.run_streamed(agent, input="Please tell me 5 jokes.")' in first


def test_stream_text_example(server: OpenAICompatServer, tmp_path: Path) -> None:
    result = run_script(EXAMPLES / "stream_text.py", server, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == SERVER_ANSWER
    assert server.requests[0].body["input"][0]["content"] == "Please tell me 5 jokes."


def test_stream_items_example(server: OpenAICompatServer, tmp_path: Path) -> None:
    result = run_script(EXAMPLES / "stream_items.py", server, tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"=== Run starting ===\nAgent updated: Joker\n-- Tool was called\n-- Tool output: "
                        r"(10|[1-9])\n-- Message output:\n " + re.escape(SERVER_ANSWER) + r"\n=== Run complete ===\n",
                        result.stdout), result.stdout
    assert [r.body["tools"][0]["name"] for r in server.requests] == ["how_many_jokes", "how_many_jokes"]


def test_telemetry_setup_example_exports(server: OpenAICompatServer, tmp_path: Path,
                                         otlp_receiver: OTLPReceiver) -> None:
    result = run_script(EXAMPLES / "telemetry_setup.py", server, tmp_path,
                        OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.grpc_endpoint)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(re.escape(SERVER_ANSWER) + r"\nmetrics: http://127\.0\.0\.1:\d+/metrics\n", result.stdout)
    spans = otlp_receiver.wait_for_spans(3)
    # gpt-5.6-luna: the Agents SDK 0.24.0 default model, for an agent that names none
    assert {s.name for s in spans} == {"invoke_workflow Agent workflow", "invoke_agent Joker", "chat gpt-5.6-luna"}
    assert {s.resource.get("service.name") for s in spans} == {"joker"}
    assert otlp_receiver.wait_for_metrics("otelagents.client.time_to_first_token")


def test_every_example_is_tested() -> None:
    tested = {"stream_text.py", "stream_items.py", "telemetry_setup.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


# --- text blocks, flags and links ---------------------------------------------------------------------------
def _shape(text: str) -> list[str]:
    """Lines with trace ids, numbers and runs of spaces made uniform, so two runs can be compared."""
    text = re.sub(r"\b[0-9a-f]{32}\b", "<trace>", text)
    text = re.sub(r"\d[\d.,]*", "#", text)
    return [re.sub(r"\s+", " ", line).strip() for line in text.splitlines() if line.strip()]


def test_demo_sample_output_matches_a_real_run() -> None:
    (sample,) = [b for b in blocks_in("text") if "what the telemetry saw" in b.text]
    result, _ = readme_demo()
    assert result.returncode == 0, result.stderr
    real = _shape(result.stdout)
    missing = [line for line in _shape(sample.text) if line not in real]
    assert not missing, f"README sample lines the demo no longer prints: {missing}"


def test_every_text_block_is_checked() -> None:
    assert len(blocks_in("text")) == 1


def _section(heading: str) -> str:
    return README.read_text().split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def _flags(command: str) -> set[str]:
    parser = _parser()
    sub = next(a for a in parser._subparsers._group_actions[0].choices.values()  # type: ignore[union-attr]
               if a.prog.endswith(f" {command}"))
    return {opt for action in sub._actions for opt in action.option_strings if opt.startswith("--")} - {"--help"}


def test_flag_table_lists_every_demo_flag() -> None:
    documented = set(re.findall(r"^\| `(--[a-z-]+)", _section("The demo"), re.M))
    assert documented == _flags("demo")


def test_flag_table_lists_every_profile_flag() -> None:
    rows = re.findall(r"^\| (`--(?:[^|\\]|\\.)+)\|", _section("Profiling token-stream latency"), re.M)
    documented = {flag for cell in rows for flag in re.findall(r"`(--[a-z-]+)", cell)}
    assert documented == _flags("profile")


def test_relative_links_resolve() -> None:
    for target in re.findall(r"\]\((?!https?://|#)([^)]+)\)", README.read_text()):
        assert (ROOT / target).exists(), target


def test_the_benchmarks_section_waits_for_the_measured_table() -> None:
    text = README.read_text()
    section = text.split("\n## Benchmarks\n", 1)[1].split("\n## ", 1)[0]
    assert "python -m benchmarks" in section
    assert "<!-- BENCHMARK TABLE -->" in section or re.search(r"^\|.*\|$", section, re.M)

