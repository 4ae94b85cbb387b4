"""Every telemetry name otelagents emits, in one place.

Span names, attribute keys, metric names, units and bucket boundaries live here so that the
telemetry code, the dashboards generator and the alert rules all read the same strings.

GenAI names follow the OpenTelemetry GenAI semantic conventions (v1.41 names, with the agent and
tool duration histograms from the GenAI repository's main branch). Names that the conventions do
not define live under ``otelagents.*``.

This module imports nothing and has no side effects, so it is safe to read from anywhere.
"""

from __future__ import annotations

from typing import Final

# --- operation names (gen_ai.operation.name) -------------------------------------------------
OP_CHAT: Final = "chat"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"
OP_EXECUTE_TOOL: Final = "execute_tool"

# --- attribute keys ----------------------------------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_OUTPUT_TYPE: Final = "gen_ai.output.type"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_DESCRIPTION: Final = "gen_ai.agent.description"
GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"
# Handoff attributes follow the open proposal (semantic-conventions-genai PR #98).
GEN_AI_AGENT_HANDOFF_SOURCE_NAME: Final = "gen_ai.agent.handoff.source.name"
GEN_AI_AGENT_HANDOFF_TARGET_NAME: Final = "gen_ai.agent.handoff.target.name"
OPENAI_API_TYPE: Final = "openai.api.type"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"

# Our own attributes.
OTELAGENTS_TURN: Final = "otelagents.turn"
OTELAGENTS_TIME_TO_FIRST_TOKEN: Final = "otelagents.response.time_to_first_token"
OTELAGENTS_OUTPUT_CHUNKS: Final = "otelagents.response.output_chunks"
OTELAGENTS_CANCELLED: Final = "otelagents.cancelled"
# Run-level latency a user notices (on the invoke_workflow span; metrics of the same names).
OTELAGENTS_RUN_TIME_TO_FIRST_TEXT: Final = "otelagents.run.time_to_first_text"
OTELAGENTS_RUN_TIME_TO_FINAL_OUTPUT: Final = "otelagents.run.time_to_final_output"
OTELAGENTS_RUN_MODEL_CALLS: Final = "otelagents.run.model_calls"
OTELAGENTS_RUN_TOOL_TIME: Final = "otelagents.run.tool_time"
OTELAGENTS_METADATA_PREFIX: Final = "otelagents.metadata."

# error.type used when a run, model call or tool is cancelled.
ERROR_TYPE_CANCELLED: Final = "cancelled"
ERROR_TYPE_OTHER: Final = "_OTHER"
# Finish reason reported when one was expected but never arrived.
FINISH_REASON_ERROR: Final = "error"

# --- metric names (OpenTelemetry names; the Prometheus names are derived, see prometheus_name) ---
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.operation.time_per_output_chunk"
METRIC_INVOKE_AGENT_DURATION: Final = "gen_ai.invoke_agent.duration"
METRIC_EXECUTE_TOOL_DURATION: Final = "gen_ai.execute_tool.duration"
METRIC_INVOKE_WORKFLOW_DURATION: Final = "gen_ai.invoke_workflow.duration"
METRIC_TIME_TO_FIRST_TOKEN: Final = "otelagents.client.time_to_first_token"
METRIC_OUTPUT_TOKENS_PER_SECOND: Final = "otelagents.client.output_tokens_per_second"
METRIC_STALLS: Final = "otelagents.client.stalls"
METRIC_HANDOFFS: Final = "otelagents.handoffs"
METRIC_ERRORS: Final = "otelagents.errors"
METRIC_INFO: Final = "otelagents.info"
METRIC_STREAMS_OPEN: Final = "otelagents.client.streams.open"
METRIC_STREAMS_STALLED: Final = "otelagents.client.streams.stalled"
METRIC_RUN_TIME_TO_FIRST_TEXT: Final = "otelagents.run.time_to_first_text"
METRIC_RUN_TIME_TO_FINAL_OUTPUT: Final = "otelagents.run.time_to_final_output"
METRIC_RUN_MODEL_CALLS: Final = "otelagents.run.model_calls"
METRIC_RUN_TOOL_TIME: Final = "otelagents.run.tool_time"

UNIT_SECONDS: Final = "s"
UNIT_TOKENS: Final = "{token}"
UNIT_TOKENS_PER_SECOND: Final = "{token}/s"
UNIT_STALLS: Final = "{stall}"
UNIT_HANDOFFS: Final = "{handoff}"
UNIT_ERRORS: Final = "{error}"
UNIT_STREAMS: Final = "{stream}"
UNIT_CALLS: Final = "{call}"

# --- bucket boundaries ----------------------------------------------------------------------------
# The conventions' advisory set starts at 10 ms; a local model's chunks arrive 1-5 ms apart, so we
# extend it downwards (a documented deviation) and keep the upper range for slow remote models.
LATENCY_BUCKETS: Final[tuple[float, ...]] = (
    0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64,
    1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)


def fine_buckets(low_octave: int, high_octave: int, *, extra: tuple[float, ...] = ()) -> tuple[float, ...]:
    """Bounds 2**(k/8) from 2**low_octave to 2**high_octave (4 significant digits), plus ``extra``.

    Neighbouring bounds are at most 9.11 % apart (2**(1/8) = 1.0905, widened by the rounding), so
    ``histogram_quantile`` over these classic buckets is within 9.11 % of the exact (nearest-rank)
    quantile for any distribution of values inside the range: both fall in the same bucket. ``extra``
    adds round values (SLO thresholds, stall thresholds) and coarse buckets outside the range; adding
    bounds only narrows buckets.
    """
    fine = {float(f"{2 ** (k / 8):.4g}") for k in range(8 * low_octave, 8 * high_octave + 1)}
    return tuple(sorted(fine | set(extra)))


# The round values every fine layout also holds, so SLO and stall thresholds can sit on them.
_ROUND_SECONDS: Final = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
# Time to first token: within 9.11 % from 15.6 ms to 16 s (2**-6 .. 2**4); 93 bounds.
TTFT_BUCKETS: Final[tuple[float, ...]] = fine_buckets(
    -6, 4, extra=(0.001, 0.002, 0.005, 0.01, 30.0, 60.0) + _ROUND_SECONDS[5:])
# Gaps between output chunks: within 9.11 % from 0.49 ms to 2 s (2**-11 .. 2**1); 110 bounds.
CHUNK_GAP_BUCKETS: Final[tuple[float, ...]] = fine_buckets(
    -11, 1, extra=(0.0001, 0.0002, 5.0, 10.0) + _ROUND_SECONDS[:9])
# The range each fine layout resolves within FINE_BUCKET_ERROR (benchmarks and tests read these).
TTFT_FINE_RANGE: Final = (2.0 ** -6, 2.0 ** 4)
CHUNK_GAP_FINE_RANGE: Final = (2.0 ** -11, 2.0 ** 1)
FINE_BUCKET_ERROR: Final = 0.0911
AGENT_DURATION_BUCKETS: Final[tuple[float, ...]] = (
    0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6,
)
TOKEN_BUCKETS: Final[tuple[float, ...]] = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
)
MODEL_CALLS_BUCKETS: Final[tuple[float, ...]] = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 25, 32, 50, 64, 100)
TOKENS_PER_SECOND_BUCKETS: Final[tuple[float, ...]] = (
    1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000,
)


# --- the instrument table ---------------------------------------------------------------------------
# Which attributes each metric carries. Only low-cardinality keys: never ids or content.
MODEL_ATTRIBUTES: Final[tuple[str, ...]] = (
    GEN_AI_OPERATION_NAME, GEN_AI_PROVIDER_NAME, GEN_AI_REQUEST_MODEL, GEN_AI_RESPONSE_MODEL,
    GEN_AI_AGENT_NAME, SERVER_ADDRESS, SERVER_PORT,
)

# The streams-in-flight gauges: the model-call attributes known before the first chunk.
STREAM_ATTRIBUTES: Final[tuple[str, ...]] = (
    GEN_AI_OPERATION_NAME, GEN_AI_PROVIDER_NAME, GEN_AI_REQUEST_MODEL, GEN_AI_AGENT_NAME, SERVER_ADDRESS,
    SERVER_PORT,
)

# Run-level metrics: one value per run, by workflow.
RUN_ATTRIBUTES: Final[tuple[str, ...]] = (GEN_AI_OPERATION_NAME, GEN_AI_WORKFLOW_NAME)


class MetricSpec:
    """One instrument: its OpenTelemetry name, kind, unit, buckets and allowed attribute keys."""

    __slots__ = ("attributes", "buckets", "description", "kind", "name", "unit")

    def __init__(
        self,
        name: str,
        kind: str,
        unit: str,
        description: str,
        attributes: tuple[str, ...],
        buckets: tuple[float, ...] = (),
    ) -> None:
        if kind not in ("histogram", "counter", "gauge"):
            raise ValueError(f"kind must be 'histogram', 'counter' or 'gauge', not {kind!r}")
        self.name = name
        self.kind = kind
        self.unit = unit
        self.description = description
        self.attributes = attributes
        self.buckets = buckets

    @property
    def prometheus_name(self) -> str:
        return prometheus_name(self.name, self.unit, self.kind)

    def __repr__(self) -> str:
        return f"MetricSpec({self.name!r}, {self.kind!r}, {self.unit!r})"


_UNIT_SUFFIXES: Final = {"s": "seconds", "ms": "milliseconds", "By": "bytes"}


def prometheus_name(name: str, unit: str, kind: str) -> str:
    """The Prometheus metric family name for an OpenTelemetry instrument.

    Follows the OpenTelemetry-to-Prometheus rules: dots become underscores, ``s`` adds ``_seconds``,
    annotation units such as ``{token}`` add nothing, counters end in ``_total``.
    """
    base = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    suffix = _UNIT_SUFFIXES.get(unit)
    if suffix and not base.endswith("_" + suffix):
        base = f"{base}_{suffix}"
    if kind == "counter" and not base.endswith("_total"):
        base += "_total"
    return base


def prometheus_label(key: str) -> str:
    """The Prometheus label name for an attribute key (``gen_ai.agent.name`` -> ``gen_ai_agent_name``)."""
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in key)


METRICS: Final[tuple[MetricSpec, ...]] = (
    MetricSpec(
        METRIC_OPERATION_DURATION, "histogram", UNIT_SECONDS,
        "Duration of each model call, from request to the last chunk.",
        MODEL_ATTRIBUTES + (ERROR_TYPE,), LATENCY_BUCKETS,
    ),
    MetricSpec(
        METRIC_TOKEN_USAGE, "histogram", UNIT_TOKENS,
        "Tokens used per model call, by gen_ai.token.type (input or output).",
        MODEL_ATTRIBUTES + (GEN_AI_TOKEN_TYPE,), TOKEN_BUCKETS,
    ),
    MetricSpec(
        METRIC_TIME_TO_FIRST_CHUNK, "histogram", UNIT_SECONDS,
        "Time from sending a streaming model request to receiving its first chunk (any event).",
        MODEL_ATTRIBUTES, LATENCY_BUCKETS,
    ),
    MetricSpec(
        METRIC_TIME_TO_FIRST_TOKEN, "histogram", UNIT_SECONDS,
        "Time from sending a streaming model request to its first output-bearing delta "
        "(text, refusal, tool-call arguments or reasoning).",
        MODEL_ATTRIBUTES, TTFT_BUCKETS,
    ),
    MetricSpec(
        METRIC_TIME_PER_OUTPUT_CHUNK, "histogram", UNIT_SECONDS,
        "Gap between consecutive output-bearing chunks of a streaming model call.",
        MODEL_ATTRIBUTES, CHUNK_GAP_BUCKETS,
    ),
    MetricSpec(
        METRIC_OUTPUT_TOKENS_PER_SECOND, "histogram", UNIT_TOKENS_PER_SECOND,
        "Decode rate of one stream: (output tokens - 1) over the time from the first to the last output chunk.",
        MODEL_ATTRIBUTES, TOKENS_PER_SECOND_BUCKETS,
    ),
    MetricSpec(
        METRIC_STALLS, "counter", UNIT_STALLS,
        "Gaps between output chunks longer than the configured stall threshold.",
        MODEL_ATTRIBUTES,
    ),
    MetricSpec(
        METRIC_INVOKE_AGENT_DURATION, "histogram", UNIT_SECONDS,
        "Duration of each agent segment of a run (until its final output or handoff).",
        (GEN_AI_OPERATION_NAME, GEN_AI_PROVIDER_NAME, GEN_AI_AGENT_NAME, ERROR_TYPE),
        AGENT_DURATION_BUCKETS,
    ),
    MetricSpec(
        METRIC_EXECUTE_TOOL_DURATION, "histogram", UNIT_SECONDS,
        "Duration of each tool call.",
        (GEN_AI_OPERATION_NAME, GEN_AI_TOOL_NAME, GEN_AI_TOOL_TYPE, GEN_AI_AGENT_NAME, ERROR_TYPE),
        LATENCY_BUCKETS,
    ),
    MetricSpec(
        METRIC_INVOKE_WORKFLOW_DURATION, "histogram", UNIT_SECONDS,
        "Duration of each whole run, from start to the end of its stream.",
        (GEN_AI_OPERATION_NAME, GEN_AI_WORKFLOW_NAME, ERROR_TYPE),
        AGENT_DURATION_BUCKETS,
    ),
    MetricSpec(
        METRIC_HANDOFFS, "counter", UNIT_HANDOFFS,
        "Handoffs from one agent to another.",
        (GEN_AI_AGENT_HANDOFF_SOURCE_NAME, GEN_AI_AGENT_HANDOFF_TARGET_NAME),
    ),
    MetricSpec(
        METRIC_ERRORS, "counter", UNIT_ERRORS,
        "Failed operations by gen_ai.operation.name and error.type (cancellations included).",
        (GEN_AI_OPERATION_NAME, GEN_AI_AGENT_NAME, ERROR_TYPE),
    ),
    MetricSpec(
        METRIC_STREAMS_OPEN, "gauge", UNIT_STREAMS,
        "Streaming model calls open now (request sent, stream not ended).",
        STREAM_ATTRIBUTES,
    ),
    MetricSpec(
        METRIC_STREAMS_STALLED, "gauge", UNIT_STREAMS,
        "Open streaming model calls whose last output chunk is older than the stall threshold "
        "(streams still waiting for their first output are not counted).",
        STREAM_ATTRIBUTES,
    ),
    MetricSpec(
        METRIC_RUN_TIME_TO_FIRST_TEXT, "histogram", UNIT_SECONDS,
        "Time from a run's start to the first output-text (or refusal) delta a user could see, across its "
        "tool calls and handoffs.",
        RUN_ATTRIBUTES, TTFT_BUCKETS,
    ),
    MetricSpec(
        METRIC_RUN_TIME_TO_FINAL_OUTPUT, "histogram", UNIT_SECONDS,
        "Time from a run's start to its final output (runs that produced one).",
        RUN_ATTRIBUTES, AGENT_DURATION_BUCKETS,
    ),
    MetricSpec(
        METRIC_RUN_MODEL_CALLS, "histogram", UNIT_CALLS,
        "Model calls per run.",
        RUN_ATTRIBUTES + (ERROR_TYPE,), MODEL_CALLS_BUCKETS,
    ),
    MetricSpec(
        METRIC_RUN_TOOL_TIME, "histogram", UNIT_SECONDS,
        "Wall-clock time per run during which at least one tool was running (parallel calls count once).",
        RUN_ATTRIBUTES + (ERROR_TYPE,), LATENCY_BUCKETS,
    ),
    MetricSpec(
        METRIC_INFO, "gauge", "1",
        "Always 1 while otelagents telemetry is running; carries the library version.",
        ("version",),
    ),
)

METRICS_BY_NAME: Final = {spec.name: spec for spec in METRICS}


# =====================================================================================================
# Telemetry observer names (added by the otelagents.telemetry observer; names the conventions define
# as values, plus a few of our own). Kept in a separate block so the table above stays easy to review.
# =====================================================================================================

# Instrumentation scope of otelagents' tracer and meter.
SCOPE_NAME: Final = "otelagents"

# Attribute values.
TOOL_TYPE_FUNCTION: Final = "function"
TOKEN_TYPE_INPUT: Final = "input"
TOKEN_TYPE_OUTPUT: Final = "output"
FINISH_REASON_STOP: Final = "stop"
FINISH_REASON_TOOL_CALLS: Final = "tool_calls"
OUTPUT_TYPE_TEXT: Final = "text"
OUTPUT_TYPE_JSON: Final = "json"

# The attribute key of the otelagents.info gauge.
INFO_VERSION: Final = "version"

# Set (true) on a tool span whose error was reported to the model as the tool's output: the span has
# status ERROR and error.type, but the run went on.
OTELAGENTS_ERROR_HANDLED: Final = "otelagents.error.handled"

# OpenTelemetry exception event (used when content capture is off: the type only, no message).
EXCEPTION_EVENT: Final = "exception"
EXCEPTION_TYPE: Final = "exception.type"
# With content capture on, the event also carries these (each cut to the content size limit).
EXCEPTION_MESSAGE: Final = "exception.message"
EXCEPTION_STACKTRACE: Final = "exception.stacktrace"

# Content capture switch (defined by the OpenTelemetry Python GenAI instrumentations, not semconv).
ENV_CAPTURE_MESSAGE_CONTENT: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

# =====================================================================================================
# Guardrails, tool types, nested runs and consumers (added for the Agents SDK plugin and the runner's
# guardrails; see otelagents.telemetry._guardrail_spans).
# =====================================================================================================

# The GenAI conventions define no guardrail span yet. We follow the open proposal
# (semantic-conventions-genai PR #427, "run guardrail"): one INTERNAL span per guardrail check, named
# ``run_guardrail {name}``, under the agent (or tool) it guards; our own keys for what it has no name for.
OP_RUN_GUARDRAIL: Final = "run_guardrail"
OTELAGENTS_GUARDRAIL_NAME: Final = "otelagents.guardrail.name"
# "input", "output", "tool_input" or "tool_output".
OTELAGENTS_GUARDRAIL_KIND: Final = "otelagents.guardrail.kind"
OTELAGENTS_GUARDRAIL_TRIGGERED: Final = "otelagents.guardrail.triggered"
# error.type of a guardrail span of unknown kind whose tripwire fired without an exception to name.
ERROR_TYPE_TRIPWIRE: Final = "tripwire_triggered"

# gen_ai.tool.type values besides "function": MCP and hosted tools act outside the application.
TOOL_TYPE_EXTENSION: Final = "extension"
TOOL_TYPE_DATASTORE: Final = "datastore"

# Set (true) on a run's span when the consumer stopped reading the stream before the run ended (the
# Agents SDK keeps the run going; the span ends when the run really ends).
OTELAGENTS_CONSUMER_LEFT: Final = "otelagents.consumer.left"
