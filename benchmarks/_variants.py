"""The five readers of one long streamed answer, each a ``Variant`` whose ``run()`` returns the events read.

* ``floor``: ``httpx`` + ``json.loads`` of every ``data:`` line of the same SSE stream (no objects, no run);
* ``ours_off`` / ``ours_full``: ``otelagents.Runner.run_streamed`` with no observer / with full telemetry;
* ``sdk_off`` / ``sdk_otel``: the openai-agents SDK's ``Runner.run_streamed`` with tracing off / with an
  OpenTelemetry instrumentation (OpenInference's ``OpenAIAgentsInstrumentor``) over the same tracer provider;
* ``sdk_plugin``: the same SDK runs with otelagents' plugin (``otelagents.instrumentation.OpenAIAgentsInstrumentor``)
  reporting into the same full telemetry as ``ours_full``; it is instrumented only while its own rounds run
  (``enter``/``exit``), so no other row pays for it and it pays for no other instrumentation.

Every agent reader counts the events ``async for event in result.stream_events()`` delivers. Each variant
keeps one client (one keep-alive connection) for all its runs, with the same settings for both libraries.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import httpx

MODEL = "gpt-bench"
INSTRUCTIONS = "Answer at length."
PROMPT = "Tell me a long story."

SDK_PACKAGE = "openai-agents==0.24.0"
OTEL_PACKAGE = "openinference-instrumentation-openai-agents==2.6.0"


class Variant(Protocol):
    key: str
    label: str

    async def run(self) -> int: ...

    async def aclose(self) -> None: ...


def openai_client(base_url: str) -> Any:
    from openai import AsyncOpenAI

    return AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0, timeout=120.0)


class Floor:
    key, label = "floor", "raw floor (httpx + json.loads)"

    def __init__(self, base_url: str) -> None:
        self.url = base_url + "/responses"
        self.client = httpx.AsyncClient(timeout=120.0)
        self.body = {"model": MODEL, "input": PROMPT, "instructions": INSTRUCTIONS, "stream": True}

    async def run(self) -> int:
        count = 0
        async with self.client.stream("POST", self.url, json=self.body) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    json.loads(line[5:])
                    count += 1
        return count

    async def aclose(self) -> None:
        await self.client.aclose()


class Ours:
    """otelagents, with ``observers`` on every run.

    ``tracing_disabled``: default, when there is no observer (else the default observer would trace the run);
    ``False`` with no observer measures the default observer itself.
    """

    def __init__(self, key: str, label: str, base_url: str, observers: list[Any], api: str = "responses",
                 tracing_disabled: bool | None = None) -> None:
        import otelagents
        from otelagents.models.interface import Model
        from otelagents.models.openai_chatcompletions import OpenAIChatCompletionsModel
        from otelagents.models.openai_responses import OpenAIResponsesModel

        self.key, self.label = key, label
        self.client = openai_client(base_url)
        model: Model = OpenAIResponsesModel(MODEL, self.client) if api == "responses" else \
            OpenAIChatCompletionsModel(MODEL, self.client)
        self.agent: Any = otelagents.Agent(name="bench", instructions=INSTRUCTIONS, model=model)
        self.observers = observers
        self.tracing_disabled = not observers if tracing_disabled is None else tracing_disabled
        self.runner = otelagents.Runner
        self.run_config = otelagents.RunConfig

    async def run(self) -> int:
        count = 0
        config = self.run_config(observers=self.observers, tracing_disabled=self.tracing_disabled)
        result = self.runner.run_streamed(self.agent, PROMPT, run_config=config)
        async for _event in result.stream_events():
            count += 1
        return count

    async def aclose(self) -> None:
        await self.client.close()


class SDK:
    """The openai-agents SDK; ``tracing``: whether its tracing is on (the OTel instrumentation sees it)."""

    def __init__(self, key: str, label: str, base_url: str, tracing: bool) -> None:
        import agents

        self.key, self.label = key, label
        self.client = openai_client(base_url)
        model = agents.OpenAIResponsesModel(MODEL, self.client)
        self.agent = agents.Agent(name="bench", instructions=INSTRUCTIONS, model=model)
        self.runner = agents.Runner
        self.run_config = agents.RunConfig(tracing_disabled=not tracing)

    async def run(self) -> int:
        count = 0
        result = self.runner.run_streamed(self.agent, PROMPT, run_config=self.run_config)
        async for _event in result.stream_events():
            count += 1
        return count

    async def aclose(self) -> None:
        await self.client.close()


class SDKPlugin(SDK):
    """The SDK with otelagents' plugin into ``telemetry``, instrumented only between ``enter`` and ``exit``."""

    def __init__(self, key: str, label: str, base_url: str, telemetry: Any) -> None:
        super().__init__(key, label, base_url, tracing=True)
        from otelagents.instrumentation import OpenAIAgentsInstrumentor

        self.telemetry = telemetry
        self.instrumentor = OpenAIAgentsInstrumentor()
        self.saved: list[Any] = []

    def enter(self) -> None:
        import agents

        multi = getattr(agents.tracing.get_trace_provider(), "_multi_processor", None)
        self.saved = list(getattr(multi, "_processors", ()))
        agents.set_trace_processors([])  # no other processor (OpenInference, OpenAI's exporter) in this row
        self.instrumentor.instrument(telemetry=self.telemetry)

    def exit(self) -> None:
        import agents

        self.instrumentor.uninstrument()
        agents.set_trace_processors(self.saved)


class SDKInstrumentation:
    """OpenInference's instrumentation of the SDK, exporting through ``tracer_provider``; undone by close()."""

    def __init__(self, tracer_provider: Any) -> None:
        from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor

        self.instrumentor = OpenAIAgentsInstrumentor()
        # exclusive (the default): replaces the SDK's own exporter to OpenAI's trace backend
        self.instrumentor.instrument(tracer_provider=tracer_provider)

    def close(self) -> None:
        self.instrumentor.uninstrument()


def missing(module: str) -> str | None:
    """Why ``module`` cannot be imported, or None when it can."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as exc:
        return str(exc)
    return None
