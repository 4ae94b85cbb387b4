"""Sessions: ``SQLiteSession`` (in memory and in a file, under concurrent use) and ``session=`` on the runner
over both APIs and the real HTTP server: the history the model sees, what is stored, guardrails, settings,
the input callback, and ``gen_ai.conversation.id``.
"""

from __future__ import annotations

import asyncio
import pathlib
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from otelagents import (
    Agent,
    GuardrailFunctionOutput,
    InputGuardrailTripwireTriggered,
    OutputGuardrailTripwireTriggered,
    RunConfig,
    Runner,
    Session,
    SessionSettings,
    SQLiteSession,
    UserError,
    input_guardrail,
    output_guardrail,
)
from otelagents.memory import SessionABC
from otelagents.telemetry import semconv as sc
from otelagents.testing.server import OpenAICompatServer, Reply
from tests.telemetry_helpers import make_rig

from .runner_helpers import collect, collect_until_error, text_turn
from .sdk_parity import make_model, ours

APIS = ["responses", "chat_completions"]


def user(text: str) -> dict[str, Any]:
    return {"content": text, "role": "user"}


def texts(items: list[Any]) -> list[str]:
    """Each item as its text (user content, assistant text, tool output), to compare histories briefly."""
    out = []
    for item in items:
        if isinstance(item.get("content"), str):
            out.append(item["content"])
        elif item.get("type") == "message":
            out.append("".join(part["text"] for part in item["content"]))
        else:
            out.append(item.get("output") or item.get("name") or item["type"])
    return out


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    with OpenAICompatServer() as srv:
        yield srv


# --- SQLiteSession ---------------------------------------------------------------------------------------

async def test_sqlite_session_in_memory_basics() -> None:
    with SQLiteSession("s1") as session:
        assert isinstance(session, Session) and isinstance(session, SessionABC)
        assert await session.get_items() == [] and await session.pop_item() is None
        await session.add_items([user("a"), user("b")])
        await session.add_items([])
        await session.add_items([user("c")])
        assert texts(await session.get_items()) == ["a", "b", "c"]
        assert texts(await session.get_items(2)) == ["b", "c"]
        assert texts(await session.get_items(1)) == ["c"]
        assert await session.get_items(0) == []
        assert texts(await session.get_items(10)) == ["a", "b", "c"]
        assert await session.pop_item() == user("c")
        assert texts(await session.get_items()) == ["a", "b"]
        await session.clear_session()
        assert await session.get_items() == []
    with pytest.raises(UserError, match="closed"):
        await session.get_items()
    session.close()  # twice is fine


async def test_sqlite_session_settings_limit_and_validation() -> None:
    session = SQLiteSession("s", session_settings={"limit": 2})
    await session.add_items([user(str(i)) for i in range(5)])
    assert texts(await session.get_items()) == ["3", "4"]
    assert texts(await session.get_items(3)) == ["2", "3", "4"]
    assert SessionSettings(limit=2).resolve(SessionSettings(limit=None)).limit == 2
    assert SessionSettings(limit=2).resolve(SessionSettings(limit=4)).limit == 4
    with pytest.raises(UserError, match="limit must be a non-negative int"):
        SessionSettings(limit=-1)
    with pytest.raises(UserError, match="session_settings must be"):
        SQLiteSession("s", session_settings=3)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="plain SQL identifier"):
        SQLiteSession("s", messages_table="x; DROP TABLE y")
    with pytest.raises(UserError, match="non-empty string session_id"):
        SQLiteSession("")
    with pytest.raises(UserError, match="JSON-serialisable"):
        await session.add_items([{"content": object(), "role": "user"}])
    assert texts(await session.get_items(10)) == ["0", "1", "2", "3", "4"]  # the failed batch left nothing


async def test_sqlite_session_file_keeps_history_per_session_id(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "history.db"
    with SQLiteSession("alice", path) as alice, SQLiteSession("bob", str(path)) as bob:
        await alice.add_items([user("hi from alice")])
        await bob.add_items([user("hi from bob")])
    with SQLiteSession("alice", path) as again:
        assert texts(await again.get_items()) == ["hi from alice"]
    with sqlite3.connect(path) as raw:  # the SDK's schema: a file is usable by either library
        raw.execute("INSERT INTO agent_messages (session_id, message_data) VALUES ('alice', 'not json')")
        sessions = raw.execute("SELECT session_id FROM agent_sessions ORDER BY session_id").fetchall()
    assert sessions == [("alice",), ("bob",)]
    with SQLiteSession("alice", path) as again:
        assert texts(await again.get_items()) == ["hi from alice"]  # an undecodable row is skipped


@pytest.mark.parametrize("where", ["memory", "file"])
async def test_sqlite_session_is_safe_under_concurrent_writers(where: str, tmp_path: pathlib.Path) -> None:
    """Concurrent tasks, several objects on one file and plain threads: every item kept, each batch whole."""
    path: Any = ":memory:" if where == "memory" else tmp_path / "c.db"
    first = SQLiteSession("shared", path)
    sessions = [first] if where == "memory" else [first, SQLiteSession("shared", path)]

    async def writer(n: int) -> None:
        await sessions[n % len(sessions)].add_items([user(f"{n}-{k}") for k in range(3)])

    await asyncio.wait_for(asyncio.gather(*(writer(n) for n in range(30))), 30)

    def thread_writer(n: int) -> None:
        asyncio.run(writer(n))

    threads = [threading.Thread(target=thread_writer, args=(n,)) for n in range(30, 36)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    stored = texts(await first.get_items())
    assert len(stored) == 36 * 3
    for start in range(0, len(stored), 3):
        batch = stored[start:start + 3]
        n = batch[0].split("-")[0]
        assert batch == [f"{n}-0", f"{n}-1", f"{n}-2"]
    for session in sessions:
        session.close()


# --- the runner ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("api", APIS)
async def test_runs_on_a_session_see_and_extend_the_history(api: str, server: OpenAICompatServer) -> None:
    server.add(Reply.text("one", chunks=1), Reply.text("two", chunks=1))
    agent = Agent(name="A", model=make_model(ours(), api, server))
    session = SQLiteSession("conv")
    first = Runner.run_streamed(agent, "hello", session=session)
    events = await collect(first)
    assert [e for e in events if e[0] != "raw"] == [("agent", "A"),
                                                    ("item", "message_output_created", "message_output_item")]
    if api == "responses":
        assert [e for e in events if e[0] == "raw"] == text_turn(1)
    second = await Runner.run(agent, [user("again")], session=session)
    assert second.final_output == "two"
    assert texts(second.input) == ["hello", "one", "again"]
    assert texts(second.to_input_list()) == ["hello", "one", "again", "two"]
    assert texts(await session.get_items()) == ["hello", "one", "again", "two"]
    if api == "responses":
        assert texts(server.requests[1].body["input"]) == ["hello", "one", "again"]
    else:
        assert [m["content"] for m in server.requests[1].body["messages"]] == ["hello", "one", "again"]


def test_run_sync_with_a_file_session_continues_a_conversation(server: OpenAICompatServer,
                                                               tmp_path: pathlib.Path) -> None:
    server.add(Reply.text("one"), Reply.text("two"))
    with SQLiteSession("conv", tmp_path / "h.db") as session:  # each run_sync has its own loop: own client
        Runner.run_sync(Agent(name="A", model=make_model(ours(), "responses", server)), "hello", session=session)
    with SQLiteSession("conv", tmp_path / "h.db") as session:
        agent = Agent(name="A", model=make_model(ours(), "responses", server))
        result = Runner.run_sync(agent, "again", session=session)
        assert texts(result.input) == ["hello", "one", "again"]


async def test_an_input_tripwire_stores_the_input_only(server: OpenAICompatServer) -> None:
    @input_guardrail(run_in_parallel=False)
    def block(ctx: Any, agent: Agent[Any], value: Any) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(output_info=None, tripwire_triggered="bad" in str(value))

    agent = Agent(name="A", model=make_model(ours(), "responses", server), input_guardrails=[block])
    session = SQLiteSession("conv")
    events, error = await collect_until_error(Runner.run_streamed(agent, "bad words", session=session))
    assert isinstance(error, InputGuardrailTripwireTriggered) and events == [("agent", "A")]
    assert texts(await session.get_items()) == ["bad words"]


async def test_an_output_tripwire_keeps_the_rejected_answer_out_of_the_session(
    server: OpenAICompatServer
) -> None:
    @output_guardrail
    def block(ctx: Any, agent: Agent[Any], value: Any) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(output_info=None, tripwire_triggered="bad" in str(value))

    server.add(Reply.tool_calls([("missing_tool", {})]), Reply.text("a bad answer"))
    agent = Agent(name="A", model=make_model(ours(), "responses", server), output_guardrails=[block])
    session = SQLiteSession("conv")
    with pytest.raises(OutputGuardrailTripwireTriggered):
        await Runner.run(agent, "hi", session=session,
                         run_config=RunConfig(tool_not_found_behavior="return_error_to_model"))
    # the first turn (its call and output) was stored; the rejected answer was not
    assert texts(await session.get_items()) == ["hi", "missing_tool", "Tool 'missing_tool' not found."]


async def test_session_settings_in_the_run_config_limit_the_history(server: OpenAICompatServer) -> None:
    server.add(Reply.text("answer"))
    session = SQLiteSession("conv", session_settings=SessionSettings(limit=3))
    await session.add_items([user(str(i)) for i in range(5)])
    agent = Agent(name="A", model=make_model(ours(), "responses", server))
    config = RunConfig(session_settings=SessionSettings(limit=1))
    result = await Runner.run(agent, "new", session=session, run_config=config)
    assert texts(result.input) == ["4", "new"]
    assert texts(server.requests[0].body["input"]) == ["4", "new"]
    assert texts(await session.get_items(10)) == ["0", "1", "2", "3", "4", "new", "answer"]


@pytest.mark.parametrize("is_async", [False, True])
async def test_session_input_callback_shapes_the_input_and_only_new_items_are_stored(
    is_async: bool, server: OpenAICompatServer
) -> None:
    server.add(Reply.text("answer"))
    session = SQLiteSession("conv")
    await session.add_items([user("old 1"), user("old 2")])

    def keep_last(history: list[Any], new: list[Any]) -> list[Any]:
        return history[-1:] + new

    async def keep_last_async(history: list[Any], new: list[Any]) -> list[Any]:
        return keep_last(history, new)

    agent = Agent(name="A", model=make_model(ours(), "responses", server))
    config = RunConfig(session_input_callback=keep_last_async if is_async else keep_last)
    result = await Runner.run(agent, "new", session=session, run_config=config)
    assert texts(result.input) == ["old 2", "new"]
    assert texts(await session.get_items()) == ["old 1", "old 2", "new", "answer"]


async def test_bad_sessions_and_callbacks_are_refused(server: OpenAICompatServer) -> None:
    agent = Agent(name="A", model=make_model(ours(), "responses", server))
    with pytest.raises(UserError, match="Session protocol.*lacks get_items"):
        Runner.run_streamed(agent, "hi", session=object())  # type: ignore[arg-type]
    with pytest.raises(UserError, match="must return the list"):
        await Runner.run(agent, "hi", session=SQLiteSession("s"),
                         run_config=RunConfig(session_input_callback=lambda h, n: None))  # type: ignore[arg-type,return-value]
    assert server.requests == []


async def test_the_session_id_is_the_conversation_id(server: OpenAICompatServer) -> None:
    rig = make_rig()
    server.add(Reply.text("one"))
    agent = Agent(name="A", model=make_model(ours(), "responses", server))
    await Runner.run(agent, "hi", session=SQLiteSession("conversation-42"), run_config=rig.config())
    conversation_ids = {(s.attributes or {}).get(sc.GEN_AI_CONVERSATION_ID) for s in rig.spans()
                        if s.name.startswith(("invoke_agent", "invoke_workflow"))}
    assert conversation_ids == {"conversation-42"}


async def test_concurrent_runs_on_one_session_keep_every_item_in_run_order() -> None:
    """Eight streamed runs at once on one file session: every input and answer is stored, each answer after
    its question (inputs are stored as runs start, so the runs interleave, as in the SDK)."""
    import tempfile

    def answer(request: Any) -> Reply:
        last = request.body["input"][-1]["content"]
        return Reply.text(f"re: {last}", chunks=2, gap=0.01)

    with OpenAICompatServer(responder=answer) as server, tempfile.TemporaryDirectory() as tmp:
        session = SQLiteSession("shared", pathlib.Path(tmp) / "s.db")
        agent = Agent(name="A", model=make_model(ours(), "responses", server))
        results = [Runner.run_streamed(agent, f"q{n}", session=session) for n in range(8)]
        await asyncio.wait_for(asyncio.gather(*(collect(r) for r in results)), 60)
        stored = texts(await session.get_items())
        session.close()
    assert sorted(stored) == sorted([f"q{n}" for n in range(8)] + [f"re: q{n}" for n in range(8)])
    for n in range(8):
        assert stored.index(f"q{n}") < stored.index(f"re: q{n}")


def test_processes_writing_one_file_keep_every_item(tmp_path: pathlib.Path) -> None:
    """Three processes append to one session file at once (WAL and a busy timeout): nothing lost or torn."""
    import subprocess
    import sys

    path = tmp_path / "shared.db"
    SQLiteSession("shared", path).close()  # create the schema first, as an application would
    script = (
        "import asyncio, sys\n"
        "from otelagents.memory import SQLiteSession\n"
        "async def main(w):\n"
        "    s = SQLiteSession('shared', sys.argv[2])\n"
        "    for n in range(20):\n"
        "        await s.add_items([{'role': 'user', 'content': f'{w}-{n}-{k}'} for k in range(3)])\n"
        "    s.close()\n"
        "asyncio.run(main(sys.argv[1]))\n"
    )
    workers = [subprocess.Popen([sys.executable, "-c", script, str(w), str(path)]) for w in range(3)]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0, 0]
    with SQLiteSession("shared", path) as session:
        stored = texts(asyncio.run(session.get_items()))
    assert len(stored) == 3 * 20 * 3
    for start in range(0, len(stored), 3):
        w, n, _ = stored[start].split("-")
        assert stored[start:start + 3] == [f"{w}-{n}-{k}" for k in range(3)]
