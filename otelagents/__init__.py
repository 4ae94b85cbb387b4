"""otelagents: a streaming agent runner with the OpenAI Agents SDK's API and OpenTelemetry built in.

Code written for ``from agents import ...`` runs with ``from otelagents import ...``. Telemetry lives in
``otelagents.telemetry`` and is off until you turn it on; importing this package has no side effects.
"""

from ._agent_tool import AgentToolStreamEvent
from ._observing import add_run_observer, get_run_observers, remove_run_observer
from .agent import Agent, StopAtTools, ToolsToFinalOutputFunction, ToolsToFinalOutputResult
from .agent_output import AgentOutputSchema, AgentOutputSchemaBase
from .exceptions import (
    AgentsException,
    InputGuardrailTripwireTriggered,
    MaxTurnsExceeded,
    ModelBehaviorError,
    ModelRefusalError,
    ModelTimeoutError,
    OutputGuardrailTripwireTriggered,
    RunErrorDetails,
    ToolInputGuardrailTripwireTriggered,
    ToolOutputGuardrailTripwireTriggered,
    ToolTimeoutError,
    UserError,
)
from .guardrail import (
    GuardrailFunctionOutput,
    InputGuardrail,
    InputGuardrailResult,
    OutputGuardrail,
    OutputGuardrailResult,
    input_guardrail,
    output_guardrail,
)
from .handoffs import Handoff, HandoffInputData, HandoffInputFilter, handoff
from .items import (
    HandoffCallItem,
    HandoffOutputItem,
    ItemHelpers,
    MessageOutputItem,
    ModelResponse,
    ReasoningItem,
    RunItem,
    ToolCallItem,
    ToolCallOutputItem,
    TResponseInputItem,
)
from .lifecycle import AgentHooks, RunHooks
from .memory import Session, SessionABC, SessionSettings
from .model_settings import ModelSettings
from .models.interface import Model, ModelInfo, ModelProvider, ModelTracing
from .observer import (
    AgentObservation,
    GuardrailInfo,
    GuardrailObservation,
    HandoffInfo,
    HandoffObservation,
    ModelCallInfo,
    ModelCallObservation,
    Outcome,
    RunInfo,
    RunObservation,
    RunObserver,
    ToolCallInfo,
    ToolObservation,
)
from .prompts import DynamicPromptFunction, GenerateDynamicPromptData, Prompt
from .result import RunResult, RunResultStreaming
from .run import Runner, set_default_model, set_default_model_provider
from .run_config import ReasoningItemIdPolicy, RunConfig
from .run_context import AgentHookContext, RunContextWrapper
from .run_error_handlers import (
    RunErrorData,
    RunErrorHandler,
    RunErrorHandlerInput,
    RunErrorHandlerResult,
    RunErrorHandlers,
)
from .stream_events import AgentUpdatedStreamEvent, RawResponsesStreamEvent, RunItemStreamEvent, StreamEvent
from .tool import (
    CodeInterpreterTool,
    FileSearchTool,
    FunctionTool,
    FunctionToolResult,
    ImageGenerationTool,
    Tool,
    WebSearchTool,
    default_tool_error_function,
    function_tool,
)
from .tool_context import ToolContext
from .tool_guardrails import (
    ToolGuardrailFunctionOutput,
    ToolInputGuardrail,
    ToolInputGuardrailData,
    ToolInputGuardrailResult,
    ToolOutputGuardrail,
    ToolOutputGuardrailData,
    ToolOutputGuardrailResult,
    tool_input_guardrail,
    tool_output_guardrail,
)
from .usage import Usage

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The OpenAI adapters import lazily so that `import otelagents` stays cheap.
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        return getattr(module, name)
    from ._unsupported import sdk_only

    unsupported = sdk_only(name, "otelagents")
    if unsupported is not None:
        raise unsupported
    raise AttributeError(f"module 'otelagents' has no attribute {name!r}")


_LAZY = {
    "SQLiteSession": "otelagents.memory.sqlite_session",
    "nest_handoff_history": "otelagents._handoff_nesting",
    "default_handoff_history_mapper": "otelagents._handoff_nesting",
    "get_conversation_history_wrappers": "otelagents._handoff_nesting",
    "set_conversation_history_wrappers": "otelagents._handoff_nesting",
    "reset_conversation_history_wrappers": "otelagents._handoff_nesting",
    "OpenAIResponsesModel": "otelagents.models.openai_responses",
    "OpenAIChatCompletionsModel": "otelagents.models.openai_chatcompletions",
    "OpenAIProvider": "otelagents.models.openai_provider",
    "set_default_openai_client": "otelagents.models.openai_provider",
    "set_default_openai_key": "otelagents.models.openai_provider",
    "set_default_openai_api": "otelagents.models.openai_provider",
}

__all__ = [
    "Agent",
    "AgentHookContext",
    "AgentHooks",
    "AgentObservation",
    "AgentOutputSchema",
    "AgentOutputSchemaBase",
    "AgentToolStreamEvent",
    "AgentUpdatedStreamEvent",
    "AgentsException",
    "CodeInterpreterTool",
    "DynamicPromptFunction",
    "FileSearchTool",
    "FunctionTool",
    "FunctionToolResult",
    "GenerateDynamicPromptData",
    "GuardrailFunctionOutput",
    "GuardrailInfo",
    "GuardrailObservation",
    "Handoff",
    "HandoffCallItem",
    "HandoffInfo",
    "HandoffInputData",
    "HandoffInputFilter",
    "HandoffObservation",
    "HandoffOutputItem",
    "ImageGenerationTool",
    "InputGuardrail",
    "InputGuardrailResult",
    "InputGuardrailTripwireTriggered",
    "ItemHelpers",
    "MaxTurnsExceeded",
    "MessageOutputItem",
    "Model",
    "ModelBehaviorError",
    "ModelCallInfo",
    "ModelCallObservation",
    "ModelInfo",
    "ModelProvider",
    "ModelRefusalError",
    "ModelResponse",
    "ModelSettings",
    "ModelTimeoutError",
    "ModelTracing",
    "OpenAIChatCompletionsModel",
    "OpenAIProvider",
    "OpenAIResponsesModel",
    "Outcome",
    "OutputGuardrail",
    "OutputGuardrailResult",
    "OutputGuardrailTripwireTriggered",
    "Prompt",
    "RawResponsesStreamEvent",
    "ReasoningItem",
    "ReasoningItemIdPolicy",
    "RunConfig",
    "RunContextWrapper",
    "RunErrorData",
    "RunErrorDetails",
    "RunErrorHandler",
    "RunErrorHandlerInput",
    "RunErrorHandlerResult",
    "RunErrorHandlers",
    "RunHooks",
    "RunInfo",
    "RunItem",
    "RunItemStreamEvent",
    "RunObservation",
    "RunObserver",
    "RunResult",
    "RunResultStreaming",
    "Runner",
    "SQLiteSession",
    "Session",
    "SessionABC",
    "SessionSettings",
    "StopAtTools",
    "StreamEvent",
    "TResponseInputItem",
    "Tool",
    "ToolCallInfo",
    "ToolCallItem",
    "ToolCallOutputItem",
    "ToolContext",
    "ToolGuardrailFunctionOutput",
    "ToolInputGuardrail",
    "ToolInputGuardrailData",
    "ToolInputGuardrailResult",
    "ToolInputGuardrailTripwireTriggered",
    "ToolObservation",
    "ToolOutputGuardrail",
    "ToolOutputGuardrailData",
    "ToolOutputGuardrailResult",
    "ToolOutputGuardrailTripwireTriggered",
    "ToolTimeoutError",
    "ToolsToFinalOutputFunction",
    "ToolsToFinalOutputResult",
    "Usage",
    "UserError",
    "WebSearchTool",
    "add_run_observer",
    "default_handoff_history_mapper",
    "default_tool_error_function",
    "function_tool",
    "get_conversation_history_wrappers",
    "get_run_observers",
    "handoff",
    "input_guardrail",
    "nest_handoff_history",
    "output_guardrail",
    "remove_run_observer",
    "reset_conversation_history_wrappers",
    "set_conversation_history_wrappers",
    "set_default_model",
    "set_default_model_provider",
    "set_default_openai_api",
    "set_default_openai_client",
    "set_default_openai_key",
    "tool_input_guardrail",
    "tool_output_guardrail",
]
