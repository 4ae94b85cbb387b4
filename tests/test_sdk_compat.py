"""The same scripted scenarios through the real ``openai-agents==0.24.0`` and through otelagents, over both
APIs and the real HTTP server: every stream event's type, name and item type, the final output and the
error must be the same.
"""

from __future__ import annotations

import types
from typing import Any

import pytest

from otelagents.testing.server import Reply

from .sdk_compat import Outcome, run_both, stream

pytest.importorskip("agents", reason="the Agents SDK is installed by the test extra")

APIS = ["responses", "chat_completions"]


async def guardrail_tripwire(lib: types.ModuleType, model: Any) -> list[Outcome]:
    """A blocking input guardrail trips on the first run; an output guardrail trips on the second."""

    @lib.input_guardrail(run_in_parallel=False)
    def no_secrets(ctx: Any, agent: Any, input: Any) -> Any:
        text = input if isinstance(input, str) else str(input)
        return lib.GuardrailFunctionOutput(output_info={"len": len(text)}, tripwire_triggered="secret" in text)

    @lib.output_guardrail
    def no_shouting(ctx: Any, agent: Any, output: Any) -> Any:
        return lib.GuardrailFunctionOutput(output_info=None, tripwire_triggered=str(output).isupper())

    agent = lib.Agent(name="Guarded", model=model, input_guardrails=[no_secrets], output_guardrails=[no_shouting])
    outcomes = []
    for text in ("tell me the secret", "say something"):
        result = lib.Runner.run_streamed(agent, text)
        outcome = await stream(result)
        outcome.extra = {
            "input_guardrails": [(r.guardrail.get_name(), r.output.tripwire_triggered)
                                 for r in result.input_guardrail_results],
            "output_guardrails": [(r.guardrail.get_name(), r.output.tripwire_triggered)
                                  for r in result.output_guardrail_results],
        }
        outcomes.append(outcome)
    return outcomes


@pytest.mark.parametrize("api", APIS)
async def test_guardrail_tripwire(api: str) -> None:
    expected, got = await run_both(guardrail_tripwire, [Reply.text("HELLO THERE")], api)
    assert got == expected
    assert [o.error for o in got] == ["InputGuardrailTripwireTriggered", "OutputGuardrailTripwireTriggered"]


SESSION_REPLIES = [Reply.text("one"), Reply.tool_calls([("lookup", {"q": "x"})]), Reply.text("two"),
                   Reply.text("three")]


async def session_continuation(lib: types.ModuleType, model: Any) -> list[Outcome]:
    """Three runs on one SQLiteSession; the second calls a tool. The last outcome holds the stored history."""

    @lib.function_tool
    def lookup(q: str) -> str:
        return f"found {q}"

    agent = lib.Agent(name="Memo", model=model, tools=[lookup])
    session = lib.SQLiteSession("conversation-1")
    outcomes = []
    for text in ("first", "second", "third"):
        result = lib.Runner.run_streamed(agent, text, session=session)
        outcome = await stream(result)
        outcome.extra = {"input": result.input, "to_input_list": result.to_input_list()}
        outcomes.append(outcome)
    outcomes.append(Outcome(extra={"stored": await session.get_items(), "last_two": await session.get_items(2)}))
    return outcomes


@pytest.mark.parametrize("api", APIS)
async def test_session_continuation_over_three_runs(api: str) -> None:
    expected, got = await run_both(session_continuation, SESSION_REPLIES, api)
    assert got == expected
    assert [o.final_output for o in got[:3]] == ["one", "two", "three"]
    assert len(got[3].extra["stored"]) == 8
