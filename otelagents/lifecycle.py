"""Lifecycle hooks (``RunHooks`` for a whole run, ``AgentHooks`` for one agent). All no-ops by default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic

from .run_context import RunContextWrapper, TContext

if TYPE_CHECKING:
    from .agent import Agent
    from .items import ModelResponse
    from .tool import FunctionTool


class RunHooks(Generic[TContext]):
    async def on_agent_start(self, context: RunContextWrapper[TContext], agent: Agent[TContext]) -> None: ...

    async def on_agent_end(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext], output: Any
    ) -> None: ...

    async def on_handoff(
        self, context: RunContextWrapper[TContext], from_agent: Agent[TContext], to_agent: Agent[TContext]
    ) -> None: ...

    async def on_tool_start(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext], tool: FunctionTool
    ) -> None: ...

    async def on_tool_end(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext], tool: FunctionTool, result: Any
    ) -> None: ...

    async def on_llm_start(
        self,
        context: RunContextWrapper[TContext],
        agent: Agent[TContext],
        system_prompt: str | None,
        input_items: list[Any],
    ) -> None: ...

    async def on_llm_end(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext], response: ModelResponse
    ) -> None: ...


class AgentHooks(Generic[TContext]):
    async def on_start(self, context: RunContextWrapper[TContext], agent: Agent[TContext]) -> None: ...

    async def on_end(self, context: RunContextWrapper[TContext], agent: Agent[TContext], output: Any) -> None: ...

    async def on_handoff(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext], source: Agent[TContext]
    ) -> None: ...

    async def on_tool_start(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext], tool: FunctionTool
    ) -> None: ...

    async def on_tool_end(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext], tool: FunctionTool, result: Any
    ) -> None: ...

    async def on_llm_start(
        self,
        context: RunContextWrapper[TContext],
        agent: Agent[TContext],
        system_prompt: str | None,
        input_items: list[Any],
    ) -> None: ...

    async def on_llm_end(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext], response: ModelResponse
    ) -> None: ...


# The SDK's base-class names (its RunHooks/AgentHooks are these bases bound to Agent).
RunHooksBase = RunHooks
AgentHooksBase = AgentHooks
