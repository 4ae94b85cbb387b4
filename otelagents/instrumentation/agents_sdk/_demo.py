"""``otelagents demo --runner agents-sdk``: the demo's scenarios run through the real Agents SDK.

The scenarios' agents (otelagents ``Agent``s, function tools and handoffs) are rebuilt as SDK agents; the
model is the SDK's own OpenAI model for ``--model``, or, offline, the demo's scripted model behind an SDK
``Model`` adapter (the two libraries stream the same ``openai`` Responses events). The plugin is
instrumented into the demo's telemetry for the duration, and the SDK's own trace export to OpenAI's
backend is switched off for the demo (it is restored afterwards).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import agents
from agents.models.interface import Model as SDKModelBase

from otelagents.models.interface import ModelInfo

from ._instrumentor import OpenAIAgentsInstrumentor


class ScriptedSDKModel(SDKModelBase):
    """An otelagents model (the demo's scripted one) as an SDK ``Model``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.model = inner.describe().request_model

    def describe(self) -> ModelInfo:
        info: ModelInfo = self.inner.describe()
        return info

    def stream_response(self, system_instructions: str | None, input: Any, model_settings: Any, tools: Any,
                        output_schema: Any, handoffs: Any, tracing: Any, *, previous_response_id: str | None,
                        conversation_id: str | None, prompt: Any) -> AsyncIterator[Any]:
        stream: AsyncIterator[Any] = self.inner.stream_response(
            system_instructions, input, model_settings, tools, output_schema, handoffs, tracing)
        return stream

    async def get_response(self, system_instructions: str | None, input: Any, model_settings: Any, tools: Any,
                           output_schema: Any, handoffs: Any, tracing: Any, *, previous_response_id: str | None,
                           conversation_id: str | None, prompt: Any) -> Any:
        final = None
        async for event in self.inner.stream_response(system_instructions, input, model_settings, tools,
                                                      output_schema, handoffs, tracing):
            if event.type == "response.completed":
                final = event.response
        if final is None:
            raise agents.ModelBehaviorError("the scripted model ended without a final response")
        usage = agents.Usage(requests=1, input_tokens=final.usage.input_tokens if final.usage else 0,
                             output_tokens=final.usage.output_tokens if final.usage else 0)
        return agents.ModelResponse(output=list(final.output), usage=usage, response_id=final.id)


def sdk_tool(tool: Any) -> Any:
    """An otelagents ``FunctionTool`` as an SDK ``FunctionTool`` (same name, schema and function)."""

    async def invoke(ctx: Any, arguments: str) -> Any:
        return await tool.on_invoke_tool(ctx, arguments)

    return agents.FunctionTool(name=tool.name, description=tool.description,
                               params_json_schema=tool.params_json_schema, on_invoke_tool=invoke,
                               strict_json_schema=tool.strict_json_schema)


def sdk_agent(agent: Any, model: Any, seen: dict[str, Any] | None = None) -> Any:
    """An otelagents agent tree as SDK agents, each with ``model``."""
    seen = {} if seen is None else seen
    if agent.name in seen:
        return seen[agent.name]
    converted = agents.Agent(name=agent.name, instructions=agent.instructions,
                             handoff_description=agent.handoff_description, model=model,
                             tools=[sdk_tool(t) for t in agent.tools])
    seen[agent.name] = converted
    converted.handoffs = [sdk_agent(getattr(h, "agent", h), model, seen) for h in agent.handoffs]
    return converted


class SDKDemoRunner:
    """Starts the scenarios' runs on the SDK with the plugin reporting into ``telemetry``; ``close()`` undoes it."""

    def __init__(self, telemetry: Any, model_name: str | None, base_url: str | None, api_key: str | None,
                 api: str) -> None:
        self._saved = list(getattr(getattr(agents.tracing.get_trace_provider(), "_multi_processor", None),
                                   "_processors", ()))
        agents.set_trace_processors([])  # the demo sends nothing to OpenAI's trace backend
        self.instrumentor = OpenAIAgentsInstrumentor()
        self.instrumentor.instrument(telemetry=telemetry)
        self._model_name, self._api = model_name, api
        self._client: Any = None
        if model_name is not None:
            from openai import AsyncOpenAI

            self._client = AsyncOpenAI(api_key=api_key or "unused", base_url=base_url, max_retries=1)

    def model(self, offline_model: Any) -> Any:
        if self._client is None:
            return ScriptedSDKModel(offline_model)
        if self._api == "chat_completions":
            return agents.OpenAIChatCompletionsModel(model=str(self._model_name), openai_client=self._client)
        return agents.OpenAIResponsesModel(model=str(self._model_name), openai_client=self._client)

    def run_streamed(self, agent: Any, prompt: str, workflow_name: str, offline_model: Any) -> Any:
        model = self.model(offline_model)
        settings = agents.ModelSettings(include_usage=True) if self._api == "chat_completions" else None
        starting = sdk_agent(agent, model)
        if settings is not None:
            for each in [starting, *starting.handoffs]:
                each.model_settings = settings
        return agents.Runner.run_streamed(starting, prompt, run_config=agents.RunConfig(workflow_name=workflow_name))

    async def close(self) -> None:
        self.instrumentor.uninstrument()
        agents.set_trace_processors(self._saved)
        if self._client is not None:
            await self._client.close()
