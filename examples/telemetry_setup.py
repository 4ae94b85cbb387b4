"""Telemetry in one call: traces and token-latency metrics for every run.

``setup()`` serves the metrics on http://127.0.0.1:9464/metrics (OTEL_EXPORTER_PROMETHEUS_PORT to change
it) and, when OTEL_EXPORTER_OTLP_ENDPOINT is set, sends traces and metrics to that collector.
Needs OPENAI_API_KEY, or OPENAI_BASE_URL pointing at an OpenAI-compatible server.
"""

import asyncio

from openai.types.responses import ResponseTextDeltaEvent

from otelagents import Agent, Runner
from otelagents.telemetry import setup


async def main():
    telemetry = setup(service_name="joker")
    agent = Agent(name="Joker", instructions="You are a helpful assistant.")

    result = Runner.run_streamed(agent, input="Please tell me 5 jokes.")
    async for event in result.stream_events():
        if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent):
            print(event.data.delta, end="", flush=True)
    print()

    print(f"metrics: {telemetry.metrics_server.url}")
    telemetry.shutdown()  # flushes spans and metrics; also runs at exit


if __name__ == "__main__":
    asyncio.run(main())
