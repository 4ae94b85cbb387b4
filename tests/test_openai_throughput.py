"""Throughput of the Responses stream decoding, side by side on one long stream from a separate server process.

Three readers of the same ``N``-delta stream:
  * ``openai-sdk``   - ``AsyncOpenAI.responses.create(stream=True)``, the client's own per-event parsing;
  * ``raw-floor``    - raw ``httpx`` ``aiter_lines`` + ``json.loads`` (dicts, no objects): the floor;
  * ``otelagents``   - ``OpenAIResponsesModel.stream_response`` (genuine openai event objects).

As a script it also measures Chat Completions: the client's chunk parsing against our conversion of the
chunks to the full Responses event sequence. Run as a script for the figures:
``python -m tests.test_openai_throughput [deltas] [rounds]``.
The test asserts a conservative ratio so it stays reliable on a busy 2-core CI machine.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI

from otelagents.model_settings import ModelSettings
from otelagents.models.interface import ModelTracing
from otelagents.models.openai_chatcompletions import OpenAIChatCompletionsModel
from otelagents.models.openai_responses import OpenAIResponsesModel


class ServerProcess:
    """``python -m otelagents.testing.server`` in a child process (so it does not share our GIL)."""

    def __init__(self, deltas: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "otelagents.testing.server", "--port", "0", "--print-port",
             "--deltas", str(deltas)],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # bounded: the server prints its port at once or exits
        if not line.strip():
            self.close()
            raise RuntimeError("the test server process did not print its port")
        self.base_url = f"http://127.0.0.1:{int(line)}/v1"

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


async def read_sdk(base_url: str) -> int:
    client = AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    count = 0
    stream = await client.responses.create(model="gpt-bench", input="hi", stream=True)
    async for _event in stream:
        count += 1
    await client.close()
    return count


async def read_raw(base_url: str) -> int:
    count = 0
    async with httpx.AsyncClient(timeout=60) as client:
        body = {"model": "gpt-bench", "input": "hi", "stream": True}
        async with client.stream("POST", base_url + "/responses", json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    json.loads(line[5:])
                    count += 1
    return count


async def read_otelagents(base_url: str) -> int:
    client = AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    model = OpenAIResponsesModel("gpt-bench", client)
    count = 0
    async for _event in model.stream_response(None, "hi", ModelSettings(), [], None, [], ModelTracing.DISABLED):
        count += 1
    await client.close()
    return count


async def read_sdk_chat(base_url: str) -> int:
    client = AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    count = 0
    stream = await client.chat.completions.create(model="gpt-bench", messages=[{"role": "user", "content": "hi"}],
                                                  stream=True)
    async for _chunk in stream:
        count += 1
    await client.close()
    return count


async def read_otelagents_chat(base_url: str) -> int:
    client = AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    model = OpenAIChatCompletionsModel("gpt-bench", client)
    count = 0
    async for _event in model.stream_response(None, "hi", ModelSettings(), [], None, [], ModelTracing.DISABLED):
        count += 1
    await client.close()
    return count


READERS: dict[str, Callable[[str], Awaitable[int]]] = {
    "openai-sdk": read_sdk, "raw-floor": read_raw, "otelagents": read_otelagents,
}
CHAT_READERS: dict[str, Callable[[str], Awaitable[int]]] = {
    "openai-sdk-chat (chunks)": read_sdk_chat, "otelagents-chat (events)": read_otelagents_chat,
}


async def measure(base_url: str, rounds: int, readers: dict[str, Callable[[str], Awaitable[int]]] = READERS,
                  ) -> dict[str, float]:
    """Best events/s of each reader over ``rounds`` interleaved rounds (after one warm-up each)."""
    best: dict[str, float] = {name: 0.0 for name in readers}
    for reader in readers.values():
        await reader(base_url)
    for _ in range(rounds):
        for name, reader in readers.items():
            start = time.perf_counter()
            count = await reader(base_url)
            best[name] = max(best[name], count / (time.perf_counter() - start))
    return best


def report(figures: dict[str, Any]) -> str:
    sdk = next(iter(figures.values()))
    return "  ".join(f"{name}={rate:,.0f} ev/s ({rate / sdk:.1f}x sdk)" for name, rate in figures.items())


@pytest.mark.timeout(120)
def test_otelagents_decodes_responses_stream_much_faster_than_the_sdk() -> None:
    server = ServerProcess(deltas=5000)
    try:
        figures = asyncio.run(measure(server.base_url, rounds=2))
    finally:
        server.close()
    print(report(figures))
    assert figures["otelagents"] >= 3 * figures["openai-sdk"], report(figures)


def main() -> None:
    deltas = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    server = ServerProcess(deltas)
    try:
        print(f"Responses, {deltas} deltas, best of {rounds}:",
              report(asyncio.run(measure(server.base_url, rounds))))
        print(f"Chat, {deltas} deltas, best of {rounds}:",
              report(asyncio.run(measure(server.base_url, rounds, CHAT_READERS))))
    finally:
        server.close()


if __name__ == "__main__":
    main()
