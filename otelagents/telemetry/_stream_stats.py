"""One model call: the ``chat {model}`` span and the token-stream metrics.

The hot path is the output-bearing deltas: once the first event was seen, the run loop appends their
``perf_counter()`` to the call's list of timestamps itself (the observation's ``EventTimer``), with no call
into this module; :meth:`ModelCallTelemetry.event` does the same for callers that call it for every event,
and handles the other events (a ``perf_counter()`` and one dict look-up on the type). OpenTelemetry is
never touched per event; everything else happens once, in :meth:`ended`.

Timing (monotonic clock): the operation duration runs from ``model_call_started``; the streaming latencies
from the moment the adapter hands the request to the HTTP transport (``request_sent``, the last attempt
when the client retries), so they exclude the client's own request building (~1.7 ms with ``openai``);
models without a transport (the scripted model) measure from ``model_call_started``:

* time to first chunk: the first event of any kind (``response.created`` for the Responses API);
* time to first token: the first output-bearing delta (``response.output_text.delta``,
  ``response.refusal.delta``, ``response.function_call_arguments.delta``,
  ``response.reasoning_text.delta``, ``response.reasoning_summary_text.delta``);
* time per output chunk: every gap between consecutive output-bearing deltas (chunks - 1 values, recorded
  from the arrival times in one ``record_gaps`` with the chat span as exemplar); gaps longer than the stall
  threshold count as stalls;
* output tokens per second: (output tokens - 1) / (last output chunk - first output chunk), when at
  least four output chunks arrived and the usage is known. The first chunk's token arrived at the start
  of the window, so it is not part of the rate. Fewer chunks say nothing about a decode rate: a server
  that sends tool-call arguments in two back-to-back chunks would otherwise report ~10,000 tokens/s;
* duration: to the last event on success, to the moment the failure was reported otherwise.

Token usage is reported (span attributes and ``gen_ai.client.token.usage``) only when the stream carried it.
"""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import SpanKind, set_span_in_context

from otelagents.items import ModelResponse
from otelagents.observer import EventTimer, ModelCallInfo, ModelCallObservation, Outcome
from otelagents.telemetry import _compiled
from otelagents.telemetry import semconv as sc
from otelagents.telemetry._content import input_messages, json_within, output_messages, system_instructions
from otelagents.telemetry._instruments import AttrItems, with_error
from otelagents.telemetry._metrics._batch import gaps_of
from otelagents.telemetry._spans import end_span, exemplar_of
from otelagents.telemetry._tool_definitions import tool_definitions

if TYPE_CHECKING:
    from otelagents.telemetry._observer import AgentTelemetry, RunTelemetry

_MIN_CHUNKS_FOR_RATE = 4

OUTPUT_DELTAS = frozenset((
    "response.output_text.delta",
    "response.refusal.delta",
    "response.function_call_arguments.delta",
    "response.reasoning_text.delta",
    "response.reasoning_summary_text.delta",
))
# Output a user reads as it streams (the run's time to first text starts at the first of these).
TEXT_DELTAS = frozenset(("response.output_text.delta", "response.refusal.delta"))
_NON_TEXT_DELTAS = OUTPUT_DELTAS - TEXT_DELTAS
_DELTA, _TERMINAL, _CREATED, _TEXT = 1, 2, 3, 4
_KINDS: dict[str, int] = {name: _TEXT if name in TEXT_DELTAS else _DELTA for name in OUTPUT_DELTAS}
_KINDS.update({"response.completed": _TERMINAL, "response.failed": _TERMINAL,
               "response.incomplete": _TERMINAL, "error": _TERMINAL, "response.created": _CREATED})
_kind_of = _KINDS.get

_REQUEST_PARAMS = (
    ("temperature", sc.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", sc.GEN_AI_REQUEST_TOP_P),
    ("max_tokens", sc.GEN_AI_REQUEST_MAX_TOKENS),
    ("frequency_penalty", sc.GEN_AI_REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", sc.GEN_AI_REQUEST_PRESENCE_PENALTY),
)


def _start_attributes(call: ModelCallInfo) -> dict[str, Any]:
    model = call.model
    attrs: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
        sc.GEN_AI_PROVIDER_NAME: model.provider_name,
        sc.GEN_AI_REQUEST_MODEL: model.request_model,
        sc.GEN_AI_OUTPUT_TYPE: sc.OUTPUT_TYPE_JSON if call.output_type else sc.OUTPUT_TYPE_TEXT,
        sc.OTELAGENTS_TURN: call.turn,
    }
    if call.stream:  # the conventions set it only on streaming calls
        attrs[sc.GEN_AI_REQUEST_STREAM] = True
    if model.server_address:
        attrs[sc.SERVER_ADDRESS] = model.server_address
    if model.server_port is not None:
        attrs[sc.SERVER_PORT] = model.server_port
    if model.api:
        attrs[sc.OPENAI_API_TYPE] = model.api
    for field, key in _REQUEST_PARAMS:
        value = getattr(call.settings, field, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attrs[key] = value
    return attrs


# Responses incomplete_details reasons in Chat Completions' finish_reason words.
_CHAT_FINISH_REASONS = {"max_output_tokens": "length"}


def _finish_reason(response: ModelResponse | None, terminal: Any, api: str | None) -> str:
    """The finish reason as the server said it: Chat's ``finish_reason`` words on Chat Completions
    (``length``, ``content_filter``), ``incomplete_details.reason`` on Responses (``max_output_tokens``)."""
    cut_short = None
    if response is not None:
        cut_short = getattr(getattr(response.raw, "incomplete_details", None), "reason", None)
        if not cut_short:
            for item in response.output:
                if getattr(item, "type", None) == "function_call":
                    return sc.FINISH_REASON_TOOL_CALLS
            return sc.FINISH_REASON_STOP
    elif terminal is not None and terminal.type == "response.incomplete":
        cut_short = getattr(getattr(terminal.response, "incomplete_details", None), "reason", None)
    if not cut_short:
        return sc.FINISH_REASON_ERROR
    reason = str(cut_short)
    return _CHAT_FINISH_REASONS.get(reason, reason) if api == "chat_completions" else reason


def _stream_key(call: ModelCallInfo) -> AttrItems:
    model = call.model
    key: AttrItems = ((sc.GEN_AI_OPERATION_NAME, sc.OP_CHAT), (sc.GEN_AI_PROVIDER_NAME, model.provider_name),
                      (sc.GEN_AI_REQUEST_MODEL, model.request_model), (sc.GEN_AI_AGENT_NAME, call.agent.name))
    if model.server_address:
        key += ((sc.SERVER_ADDRESS, model.server_address),)
    if model.server_port is not None:
        key += ((sc.SERVER_PORT, model.server_port),)
    return key


class ModelCallTelemetry(ModelCallObservation):
    __slots__ = (
        "_agent",
        "_call",
        "_created",
        "_deltas",
        "_done",
        "_exemplar",
        "_first",
        "_hot",
        "_last",
        "_run",
        "_sent",
        "_span",
        "_started",
        "_streams",
        "_terminal",
        "stream_key",
    )

    def __init__(self, run: RunTelemetry, agent: AgentTelemetry, call: ModelCallInfo) -> None:
        self._run = run
        self._agent = agent
        self._call = call
        self._deltas: _compiled.Times = _compiled.new_stamps()  # C doubles (or an array('d')): see _compiled
        # The event types that only need a timestamp: deltas once the first event was seen (text deltas
        # once the first text was), see event(). It only grows; the run loop reads it at every event
        # (event_timer()), so those events cost the loop a timestamp and no call.
        self._hot: set[str] = set()
        run.latency.model_calls += 1
        self._first = 0.0
        self._last = 0.0
        self._terminal: Any = None
        self._created: Any = None
        self._done = False
        attributes = _start_attributes(call)
        if run.conversation_id:
            attributes[sc.GEN_AI_CONVERSATION_ID] = run.conversation_id
        span = run.tracer.start_span(
            f"{sc.OP_CHAT} {call.model.request_model}", context=set_span_in_context(agent.span),
            kind=SpanKind.CLIENT, attributes=attributes,
        )
        self._span = span
        self._exemplar = exemplar_of(span)
        if run.capture and span.is_recording():
            limit = run.max_length
            if call.system_instructions:
                span.set_attribute(sc.GEN_AI_SYSTEM_INSTRUCTIONS,
                                   json_within(system_instructions(call.system_instructions), limit))
            span.set_attribute(sc.GEN_AI_INPUT_MESSAGES, json_within(input_messages(call.input), limit))
            definitions = tool_definitions(call.tools, call.handoffs)
            if definitions:
                span.set_attribute(sc.GEN_AI_TOOL_DEFINITIONS, json_within(definitions, limit))
        run.track(self)
        run.stack.push(self, span)
        self.stream_key = _stream_key(call)
        self._streams = run.telemetry.streams
        self._streams.opened(self)
        agent.model_call_seen(call)
        self._started = perf_counter()
        self._sent = 0.0

    @property
    def stall_threshold_s(self) -> float:
        return self._run.stall_threshold_s

    def last_output(self) -> float:
        """When the last output chunk arrived (``perf_counter``), 0.0 before the first; read by the gauges."""
        deltas = self._deltas
        return deltas[-1] if deltas else 0.0

    def request_sent(self) -> None:
        self._sent = perf_counter()

    def request_headers(self) -> dict[str, str]:
        carrier: dict[str, str] = {}
        self._run.telemetry.inject(carrier, set_span_in_context(self._span))
        return carrier

    def event_timer(self) -> EventTimer:
        return EventTimer(self._hot, self._deltas)

    def event(self, event: Any) -> None:
        if event.type in self._hot:  # what the event timer does, for callers that call for every event
            self._deltas.append(perf_counter())
            return
        now = perf_counter()
        kind = _kind_of(event.type)
        if kind == _DELTA:
            self._deltas.append(now)
        elif kind == _TEXT:  # this call's first text: maybe the first the run's user sees
            self._deltas.append(now)
            self._run.latency.first_text(now)
            self._hot.update(TEXT_DELTAS)
        elif kind is not None:
            if kind == _TERMINAL:
                self._terminal = event
            else:
                self._created = event
        if not self._first:
            self._first = now
            self._hot.update(_NON_TEXT_DELTAS)
        self._last = now

    def abandon(self, outcome: Outcome) -> None:
        self.ended(None, outcome)

    def ended(self, response: ModelResponse | None, outcome: Outcome) -> None:
        if self._done:
            return
        self._done = True
        now = perf_counter()
        run, span, call = self._run, self._span, self._call
        self._streams.closed(self)
        run.stack.pop(self)
        run.untrack(self)
        terminal = self._terminal
        raw = response.raw if response is not None else getattr(terminal, "response", None)
        created = getattr(self._created, "response", None)
        response_model = getattr(raw, "model", None) or getattr(created, "model", None)
        response_id = getattr(raw, "id", None) or getattr(created, "id", None)
        usage = getattr(raw, "usage", None)
        input_tokens = output_tokens = None
        if usage is not None:
            input_tokens = int(getattr(usage, "input_tokens", 0) or 0)
            output_tokens = int(getattr(usage, "output_tokens", 0) or 0)
            self._agent.add_usage(input_tokens, output_tokens)
        deltas, started = self._deltas, self._sent or self._started
        finish = _finish_reason(response, terminal, call.model.api)
        if span.is_recording():
            attrs: dict[str, Any] = {sc.GEN_AI_RESPONSE_FINISH_REASONS: (finish,),
                                     sc.OTELAGENTS_OUTPUT_CHUNKS: len(deltas)}
            if response_model:
                attrs[sc.GEN_AI_RESPONSE_MODEL] = str(response_model)
            if response_id:
                attrs[sc.GEN_AI_RESPONSE_ID] = str(response_id)
            if self._first:
                attrs[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = self._first - started
            if deltas:
                attrs[sc.OTELAGENTS_TIME_TO_FIRST_TOKEN] = deltas[0] - started
            if usage is not None:
                attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] = input_tokens
                attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = output_tokens
                cached = getattr(getattr(usage, "input_tokens_details", None), "cached_tokens", 0) or 0
                reasoning = getattr(getattr(usage, "output_tokens_details", None), "reasoning_tokens", 0) or 0
                if cached:
                    attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = int(cached)
                if reasoning:
                    attrs[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = int(reasoning)
            if run.capture and response is not None:
                attrs[sc.GEN_AI_OUTPUT_MESSAGES] = json_within(output_messages(response.output, finish),
                                                               run.max_length)
            span.set_attributes(attrs)
        error = end_span(span, outcome, capture=run.capture, max_length=run.max_length)
        model = call.model
        base: AttrItems = (
            (sc.GEN_AI_OPERATION_NAME, sc.OP_CHAT),
            (sc.GEN_AI_PROVIDER_NAME, model.provider_name),
            (sc.GEN_AI_REQUEST_MODEL, model.request_model),
            (sc.GEN_AI_AGENT_NAME, call.agent.name),
        )
        if response_model:
            base += ((sc.GEN_AI_RESPONSE_MODEL, str(response_model)),)
        if model.server_address:
            base += ((sc.SERVER_ADDRESS, model.server_address),)
        if model.server_port is not None:
            base += ((sc.SERVER_PORT, model.server_port),)
        self._record(base, error, now, usage is not None, input_tokens or 0, output_tokens or 0)

    def _record(self, base: AttrItems, error: str | None, now: float, has_usage: bool, input_tokens: int,
                output_tokens: int) -> None:
        metrics, exemplar, started, deltas = self._run.instruments, self._exemplar, self._started, self._deltas
        last = max(self._last, deltas[-1]) if deltas else self._last
        end = last if error is None and last else now
        metrics.histogram(sc.METRIC_OPERATION_DURATION, with_error(base, error)).record(end - started, exemplar)
        started = self._sent or started  # streaming latencies run from the request leaving
        if has_usage:
            metrics.histogram(sc.METRIC_TOKEN_USAGE, base + ((sc.GEN_AI_TOKEN_TYPE, sc.TOKEN_TYPE_INPUT),)).record(
                input_tokens, exemplar)
            metrics.histogram(sc.METRIC_TOKEN_USAGE, base + ((sc.GEN_AI_TOKEN_TYPE, sc.TOKEN_TYPE_OUTPUT),)).record(
                output_tokens, exemplar)
        if self._first:
            metrics.histogram(sc.METRIC_TIME_TO_FIRST_CHUNK, base).record(self._first - started, exemplar)
        if deltas:
            metrics.histogram(sc.METRIC_TIME_TO_FIRST_TOKEN, base).record(deltas[0] - started, exemplar)
        if len(deltas) >= 2:
            window = deltas[-1] - deltas[0]
            series, threshold = metrics.histogram(sc.METRIC_TIME_PER_OUTPUT_CHUNK, base), self._run.stall_threshold_s
            record_gaps = getattr(series, "record_gaps", None)
            if record_gaps is not None:
                stalls = record_gaps(deltas, threshold, exemplar)
            else:  # a sink of the application's own with record_many only
                gaps, stalls = gaps_of(deltas, threshold)
                series.record_many(gaps, exemplar)
            if stalls:
                metrics.counter(sc.METRIC_STALLS, base).add(stalls, exemplar)
            if has_usage and output_tokens > 1 and window > 0 and len(deltas) >= _MIN_CHUNKS_FOR_RATE:
                metrics.histogram(sc.METRIC_OUTPUT_TOKENS_PER_SECOND, base).record(
                    (output_tokens - 1) / window, exemplar)
        if error is not None:
            metrics.counter(sc.METRIC_ERRORS, (
                (sc.GEN_AI_OPERATION_NAME, sc.OP_CHAT), (sc.GEN_AI_AGENT_NAME, self._call.agent.name),
                (sc.ERROR_TYPE, error))).add(1, exemplar)
