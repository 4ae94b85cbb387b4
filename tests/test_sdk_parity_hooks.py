"""Lifecycle hooks receive what the real ``openai-agents==0.24.0`` passes them (issue 16, difference 6):
the agent-start context with the turn's input, ``on_llm_start``'s input items, ``turn_input`` in tools."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from otelagents.testing.server import Reply

from .sdk_parity import both, no_trace


def _recording_hooks(lib: ModuleType, log: list[Any]) -> tuple[Any, Any]:
    def strip(items: list[Any]) -> list[Any]:
        return [dict(i) if isinstance(i, dict) else i.model_dump(exclude_unset=True) for i in items]

    class Run(lib.RunHooks):  # type: ignore[name-defined,misc]
        async def on_agent_start(self, context: Any, agent: Any) -> None:
            log.append(("run.agent_start", agent.name, type(context).__name__, strip(context.turn_input)))

        async def on_llm_start(self, context: Any, agent: Any, system_prompt: Any, input_items: Any) -> None:
            log.append(("run.llm_start", agent.name, system_prompt, strip(input_items), strip(context.turn_input)))

        async def on_agent_end(self, context: Any, agent: Any, output: Any) -> None:
            log.append(("run.agent_end", agent.name, type(context).__name__, output))

        async def on_tool_start(self, context: Any, agent: Any, tool: Any) -> None:
            log.append(("run.tool_start", agent.name, tool.name, type(context).__name__,
                        getattr(context, "tool_call_id", None), strip(context.turn_input)))

    class Own(lib.AgentHooks):  # type: ignore[name-defined,misc]
        async def on_start(self, context: Any, agent: Any) -> None:
            log.append(("agent.start", agent.name, type(context).__name__, strip(context.turn_input)))

        async def on_llm_start(self, context: Any, agent: Any, system_prompt: Any, input_items: Any) -> None:
            log.append(("agent.llm_start", agent.name, strip(input_items)))

        async def on_end(self, context: Any, agent: Any, output: Any) -> None:
            log.append(("agent.end", agent.name, type(context).__name__, output))

    return Run(), Own()


@pytest.mark.parametrize("streamed", [True, False])
async def test_hooks_receive_the_turn_input_as_in_the_sdk(streamed: bool) -> None:
    async def scenario(lib: ModuleType, model: Any) -> Any:
        log: list[Any] = []
        run_hooks, agent_hooks = _recording_hooks(lib, log)

        @lib.function_tool
        def ping() -> str:
            """Ping."""
            return "pong"

        helper = lib.Agent(name="helper", instructions="Help.", model=model, hooks=agent_hooks)
        agent = lib.Agent(name="main", instructions="Main.", model=model, tools=[ping], handoffs=[helper],
                          hooks=agent_hooks)
        history = [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "noted"}, "go"]
        given = history[:2] + [{"role": "user", "content": "go"}]
        if streamed:
            result = lib.Runner.run_streamed(agent, given, hooks=run_hooks, run_config=no_trace(lib))
            async for _ in result.stream_events():
                pass
        else:
            result = await lib.Runner.run(agent, given, hooks=run_hooks, run_config=no_trace(lib))
        return log, result.final_output

    replies = [Reply.tool_calls([("ping", {}, "call_a")]), Reply.handoff("transfer_to_helper"), Reply.text("done")]
    sdk, ours = await both(scenario, replies)
    assert ours.value == sdk.value
    log, final = ours.value
    assert final == "done"
    kinds = [entry[0] for entry in log]
    assert kinds.count("run.agent_start") == 2 and kinds.count("run.llm_start") == 3
    starts = [entry for entry in log if entry[0] == "run.agent_start"]
    assert starts[0][2] == "AgentHookContext"
    assert [m["content"] for m in starts[0][3]] == ["earlier", "noted", "go"]
