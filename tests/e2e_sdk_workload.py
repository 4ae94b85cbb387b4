"""The end-to-end workload of ``e2e_workload`` through the unmodified Agents SDK with otelagents' plugin.

Same scenarios, replies and tallies, same telemetry (``Telemetry`` over a ``MetricsEngine`` served on
``/metrics``); the agents are ``agents.Agent``s on the SDK's Responses and Chat Completions models (the Chat
agents ask for usage, ``ModelSettings(include_usage=True)``, as otelagents' adapter does by default), and
the plugin reports their runs. A handled tool error's ``error.type`` is ``_OTHER`` (the SDK keeps only its
message); everything else is tallied exactly as for the runner.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import agents
import openai
from typing_extensions import Self

from otelagents.instrumentation import OpenAIAgentsInstrumentor
from otelagents.testing.server import Reply
from tests.e2e_workload import (
    CHAT_MODEL,
    CLIENT_RETRIES,
    RESPONSES_MODEL,
    TOOL_ERROR,
    E2EWorkload,
    _Scenario,
    _scenarios,
)

SDK_TOOL_ERROR = "_OTHER"


@agents.function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@agents.function_tool
def broken_tool(city: str) -> str:
    """Always fails."""
    raise ValueError(f"no data for {city}")


def sdk_scenarios() -> list[_Scenario]:
    return [dataclasses.replace(s, tools=tuple((t, SDK_TOOL_ERROR if e == TOOL_ERROR else e) for t, e in s.tools))
            for s in _scenarios()]


class SDKWorkload(E2EWorkload):
    """``E2EWorkload`` on the Agents SDK: the plugin is instrumented into this workload's telemetry while open."""

    def start(self) -> Self:
        self._saved = list(getattr(getattr(agents.tracing.get_trace_provider(), "_multi_processor", None),
                                   "_processors", ()))
        agents.set_trace_processors([])  # nothing to OpenAI's backend from tests
        self.instrumentor = OpenAIAgentsInstrumentor()
        self.instrumentor.instrument(telemetry=self.telemetry)
        return super().start()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.instrumentor.uninstrument()
            agents.set_trace_processors(self._saved)

    async def _round(self) -> None:
        client = openai.AsyncOpenAI(base_url=self.server.base_url, api_key="test", max_retries=CLIENT_RETRIES)
        try:
            by_name = self._sdk_agents(client)
            if not self.warmed_up:  # one-off costs off the first TTFT; tracing off: the plugin ignores these
                for name in ("Greeter", "ChatGreeter"):
                    self.server.add(Reply.text("warm up"))
                    await agents.Runner.run(by_name[name], "warm up",
                                            run_config=agents.RunConfig(tracing_disabled=True))
                self.warmed_up = True
            for scenario in sdk_scenarios():
                await self._run_sdk(scenario, by_name)
        finally:
            await client.close()

    def _sdk_agents(self, client: openai.AsyncOpenAI) -> dict[str, Any]:
        responses = agents.OpenAIResponsesModel(model=RESPONSES_MODEL, openai_client=client)
        chat = agents.OpenAIChatCompletionsModel(model=CHAT_MODEL, openai_client=client)
        usage = agents.ModelSettings(include_usage=True)
        spanish = agents.Agent(name="Spanish Agent", instructions="Reply in Spanish.", model=chat,
                               handoff_description="Speaks Spanish.", model_settings=usage)
        built = [
            agents.Agent(name="Greeter", instructions="Greet.", model=responses),
            agents.Agent(name="ChatGreeter", instructions="Greet.", model=chat, model_settings=usage),
            agents.Agent(name="Forecaster", instructions="Forecast.", model=responses,
                         tools=[get_weather, broken_tool]),
            agents.Agent(name="Triage", instructions="Route.", model=responses, handoffs=[spanish]),
            spanish,
        ]
        return {agent.name: agent for agent in built}

    async def _run_sdk(self, scenario: _Scenario, by_name: dict[str, Any]) -> None:
        for call in scenario.calls:
            self.server.add(*call.replies)
        result = agents.Runner.run_streamed(by_name[scenario.agent], f"[{scenario.name}] hello",
                                            run_config=agents.RunConfig(workflow_name="e2e"))
        error: str | None = None
        try:
            async for _ in result.stream_events():
                pass
        except Exception as exc:  # noqa: BLE001 - compared with the script below
            error = type(exc).__name__
        task = result.run_loop_task
        if task is not None:  # the plugin ends the run's spans when the SDK's task is done
            import asyncio

            await asyncio.wait_for(asyncio.wait([task]), 15)
            await asyncio.sleep(0)
        if error != scenario.error:
            raise AssertionError(f"scenario {scenario.name!r} ended with {error or 'success'}, expected "
                                 f"{scenario.error or 'success'}")
        self._tally(scenario)
