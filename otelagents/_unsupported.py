"""Names of the Agents SDK 0.24.0 that otelagents does not offer: importing one raises a ``UserError``
that names it and the way to use it with otelagents' telemetry (the SDK plugin), instead of a bare
``ImportError``/``AttributeError``."""

from __future__ import annotations

from .exceptions import UserError

# agents.__all__ (0.24.0) minus otelagents.__all__, when this was written. A name otelagents offers
# later is found as a real attribute first, so this list never hides it.
SDK_ONLY_NAMES = frozenset({
    'AgentBase', 'AgentSpanData', 'AgentToolInvocation', 'ApplyPatchEditor', 'ApplyPatchOperation',
    'ApplyPatchResult', 'ApplyPatchTool', 'ApplyPatchToolCustomDataContext', 'ApplyPatchToolCustomDataExtractor',
    'AsyncComputer', 'Button', 'CompactionItem', 'Computer', 'ComputerProvider', 'ComputerTool',
    'ComputerToolCustomDataContext', 'ComputerToolCustomDataExtractor', 'CustomSpanData', 'CustomTool',
    'CustomToolCustomDataContext', 'CustomToolCustomDataExtractor', 'DynamicPromptFunction', 'Environment',
    'FunctionSpanData', 'FunctionToolCustomDataContext', 'FunctionToolCustomDataExtractor',
    'GenerateDynamicPromptData', 'GenerationSpanData', 'GuardrailSpanData', 'HandoffSpanData', 'HostedMCPTool',
    'ImageGenerationToolConfig', 'InputItem', 'LocalShellCommandRequest', 'LocalShellExecutor', 'LocalShellTool',
    'MCPApprovalRequestItem', 'MCPApprovalResponseItem', 'MCPListToolsItem', 'MCPListToolsSpanData',
    'MCPToolApprovalFunction', 'MCPToolApprovalFunctionResult', 'MCPToolApprovalRequest',
    'MCPToolCancellationError', 'ModelRetryAdvice', 'ModelRetryAdviceRequest', 'ModelRetryBackoffSettings',
    'ModelRetryNormalizedError', 'ModelRetrySettings', 'MultiProvider',
    'OpenAIAgentRegistrationConfig', 'OpenAIConversationsSession', 'OpenAIResponsesCompactionArgs',
    'OpenAIResponsesCompactionAwareSession', 'OpenAIResponsesCompactionSession', 'OpenAIResponsesWSModel',
    'OpenAIResponsesWebSocketOptions', 'OutputGuardrailBlockedMessageArgs',
    'OutputGuardrailBlockedMessageFormatter', 'ProgrammaticToolCallingTool', 'Prompt', 'ReasoningItemIdPolicy',
    'ResponseSpanData', 'ResponsesWebSocketSession', 'RetryDecision', 'RetryPolicy', 'RetryPolicyContext',
    'RunErrorData', 'RunErrorHandler', 'RunErrorHandlerInput', 'RunErrorHandlerResult', 'RunErrorHandlers',
    'RunState', 'ShellActionRequest', 'ShellCallData', 'ShellCallOutcome', 'ShellCommandOutput',
    'ShellCommandRequest', 'ShellExecutor', 'ShellResult', 'ShellTool', 'ShellToolContainerAutoEnvironment',
    'ShellToolContainerNetworkPolicy', 'ShellToolContainerNetworkPolicyAllowlist',
    'ShellToolContainerNetworkPolicyDisabled', 'ShellToolContainerNetworkPolicyDomainSecret',
    'ShellToolContainerReferenceEnvironment', 'ShellToolContainerSkill', 'ShellToolEnvironment',
    'ShellToolHostedEnvironment', 'ShellToolInlineSkill', 'ShellToolInlineSkillSource',
    'ShellToolLocalEnvironment', 'ShellToolLocalSkill', 'ShellToolSkillReference', 'Span', 'SpanData',
    'SpanError', 'SpeechGroupSpanData', 'SpeechSpanData', 'TContext', 'TaskSpanData', 'ToolApprovalItem',
    'ToolCaller', 'ToolErrorFormatter', 'ToolErrorFormatterArgs', 'ToolExecutionConfig',
    'ToolGuardrailFunctionOutput', 'ToolInputGuardrail', 'ToolInputGuardrailData', 'ToolInputGuardrailResult',
    'ToolInputGuardrailTripwireTriggered', 'ToolNameCollisionPolicy', 'ToolNotFoundBehavior', 'ToolOrigin',
    'ToolOriginType', 'ToolOutputFileContent', 'ToolOutputFileContentDict', 'ToolOutputGuardrail',
    'ToolOutputGuardrailData', 'ToolOutputGuardrailResult', 'ToolOutputGuardrailTripwireTriggered',
    'ToolOutputImage', 'ToolOutputImageDict', 'ToolOutputText', 'ToolOutputTextDict', 'ToolSearchCallItem',
    'ToolSearchOutputItem', 'ToolSearchTool', 'Trace', 'TracingProcessor', 'TranscriptionSpanData',
    'TurnSpanData', 'WebSearchToolImageSettings', 'add_trace_processor', 'agent_span', 'apply_diff',
    'custom_span', 'default_handoff_history_mapper', 'dispose_resolved_computers',
    'enable_verbose_stdout_logging', 'flush_traces', 'function_span', 'gen_span_id', 'gen_trace_id',
    'generation_span', 'get_conversation_history_wrappers', 'get_current_span', 'get_current_trace',
    'guardrail_span', 'handoff_span', 'is_openai_responses_compaction_aware_session', 'mcp_tools_span',
    'nest_handoff_history', 'reset_conversation_history_wrappers', 'resolve_computer', 'response_span',
    'responses_websocket_session', 'retry_policies', 'run_demo_loop', 'sandbox',
    'set_conversation_history_wrappers', 'set_default_openai_agent_registration', 'set_default_openai_harness',
    'set_default_openai_responses_transport', 'set_trace_processors', 'set_trace_provider',
    'set_tracing_disabled', 'set_tracing_export_api_key', 'speech_group_span', 'speech_span', 'task_span',
    'tool_input_guardrail', 'tool_namespace', 'tool_output_guardrail', 'trace', 'transcription_span', 'turn_span',
})


class UnsupportedFeatureError(UserError, ImportError):
    """An Agents SDK feature otelagents does not implement. It is an ``ImportError`` too, so
    ``from otelagents import X`` reports it where the import is."""

    def __init__(self, name: str, module: str) -> None:
        super().__init__(
            f"{module}.{name} does not exist: otelagents' runner does not implement the Agents SDK's {name}. "
            f"To use it, run the SDK itself (`from agents import {name}`) and get the same telemetry "
            "from the SDK plugin: `from otelagents.instrumentation import OpenAIAgentsInstrumentor; "
            "OpenAIAgentsInstrumentor().instrument()`."
        )
        self.name = name  # ImportError's attribute: the missing name


def sdk_only(name: str, module: str) -> UnsupportedFeatureError | None:
    """The error for an SDK name ``module`` does not offer, or None for a name the SDK does not have."""
    return UnsupportedFeatureError(name, module) if name in SDK_ONLY_NAMES else None
