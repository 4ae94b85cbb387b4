"""Stream the model's text token by token (the Agents SDK's first streaming example, on otelagents).

Needs OPENAI_API_KEY, or OPENAI_BASE_URL pointing at an OpenAI-compatible server.
"""

import asyncio

from openai.types.responses import ResponseTextDeltaEvent

from otelagents import Agent, Runner


async def main():
    agent = Agent(
        name="Joker",
        instructions="You are a helpful assistant.",
    )

    result = Runner.run_streamed(agent, input="Please tell me 5 jokes.")
    async for event in result.stream_events():
        if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent):
            print(event.data.delta, end="", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
