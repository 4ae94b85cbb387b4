"""``otelagents demo --runner agents-sdk``: the demo's scenarios through the real Agents SDK with the plugin,
offline on the scripted model and against the project's OpenAI-compatible server; the report reads the
same telemetry as on otelagents' runner."""

from __future__ import annotations

from otelagents.testing.server import OpenAICompatServer

from .test_cli_demo import clean_env, demo_responder, run_cli


def test_offline_demo_on_the_sdk_reports_every_scenario() -> None:
    done = run_cli("demo", "--runner", "agents-sdk", "--fast", "--metrics-port", "0")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for line in ("invoke_workflow demo jokes", "invoke_workflow demo tools", "invoke_workflow demo handoff",
                 "execute_tool how_many_jokes", "execute_tool transfer_to_pun_specialist",
                 "invoke_agent Pun specialist", "chat scripted-demo", "handoff Triage -> Pun specialist"):
        assert line in out, line
    assert out.count("--- what the telemetry saw") == 3
    assert "gen_ai_client_operation_duration_seconds_count 5" in out  # 1 + 2 + 2 model calls
    assert "Traceback" not in done.stderr


def test_sdk_demo_against_a_server_over_both_apis() -> None:
    for api in ("responses", "chat_completions"):
        with OpenAICompatServer(responder=demo_responder) as server:
            done = run_cli("demo", "--runner", "agents-sdk", "--scenario", "tools", "--model", "gpt-test",
                           "--base-url", server.base_url, "--api", api, "--metrics-port", "0",
                           env=clean_env())
            assert done.returncode == 0, done.stderr
            assert "execute_tool how_many_jokes" in done.stdout and "chat gpt-test" in done.stdout
            assert all(r.body["model"] == "gpt-test" for r in server.requests)
            assert {r.api for r in server.requests} == {api}


def test_load_mode_is_for_the_runner() -> None:
    done = run_cli("demo", "--runner", "agents-sdk", "--runs", "3")
    assert done.returncode == 2
    assert "drop --runner agents-sdk" in done.stderr
