"""An unmodified OpenAI Agents SDK application that knows nothing of otelagents or OpenTelemetry:
``test_agents_sdk_zero_code.py`` runs it under ``opentelemetry-instrument`` and expects otelagents' spans
and metrics at the OTLP receiver. It keeps its traces away from OpenAI's backend, as many applications do."""

import asyncio

from agents import Agent, Runner, function_tool, set_trace_processors

set_trace_processors([])  # no export to OpenAI's trace backend


@function_tool
def lookup(key: str) -> str:
    "Look a key up."
    return key.upper()


async def main() -> None:
    agent = Agent(name="triage", instructions="Route.", tools=[lookup], model="gpt-4.1")
    result = Runner.run_streamed(agent, "Hi")
    async for _event in result.stream_events():
        pass
    print(result.final_output)


if __name__ == "__main__":
    asyncio.run(main())
