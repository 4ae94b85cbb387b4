"""An application that knows nothing of OpenTelemetry: ``test_telemetry_zero_code.py`` runs it under
``opentelemetry-instrument`` and expects otelagents' spans and metrics at the OTLP receiver."""

import asyncio

from otelagents import Agent, Runner, function_tool


@function_tool
def lookup(key: str) -> str:
    "Look a key up."
    return key.upper()


async def main() -> None:
    agent = Agent(name="triage", instructions="Route.", tools=[lookup])
    result = Runner.run_streamed(agent, "Hi")
    async for _event in result.stream_events():
        pass
    print(result.final_output)


if __name__ == "__main__":
    asyncio.run(main())
