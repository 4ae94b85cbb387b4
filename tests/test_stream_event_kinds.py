"""Which streamed events a model call's telemetry counts, in any order they arrive.

``ModelCallTelemetry.event`` keeps a fast path for the deltas after the first event (text deltas after the
first text); these tests feed real ``openai`` event types in orders that cross those transitions and check
what a user sees: the chat span's chunk count, time to first chunk and token, the gaps histogram, and the
run's time to first text (which must start at the first text delta, not at the first delta).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseOutputItemAddedEvent,
    ResponseReasoningTextDeltaEvent,
    ResponseRefusalDeltaEvent,
    ResponseTextDeltaEvent,
)

import otelagents
from otelagents.model_settings import ModelSettings
from otelagents.models.interface import ModelInfo
from otelagents.observer import ModelCallInfo, Outcome, RunInfo
from otelagents.telemetry import semconv as sc
from tests.telemetry_helpers import Rig, hist, make_rig

EVENTS: dict[str, Any] = {
    "created": ResponseCreatedEvent.model_construct(type="response.created"),
    "item": ResponseOutputItemAddedEvent.model_construct(type="response.output_item.added"),
    "args": ResponseFunctionCallArgumentsDeltaEvent.model_construct(type="response.function_call_arguments.delta"),
    "reasoning": ResponseReasoningTextDeltaEvent.model_construct(type="response.reasoning_text.delta"),
    "text": ResponseTextDeltaEvent.model_construct(type="response.output_text.delta"),
    "refusal": ResponseRefusalDeltaEvent.model_construct(type="response.refusal.delta"),
    "completed": ResponseCompletedEvent.model_construct(type="response.completed"),
}
OUTPUT = {"args", "reasoning", "text", "refusal"}
TEXT = {"text", "refusal"}
PAUSE_S = 0.03  # between the events named in a test, so first-text and first-token times differ


def run_call(rig: Rig, names: list[str], pause_before: str | None = None) -> None:
    agent: Any = otelagents.Agent(name="kinds")
    run = rig.telemetry.run_started(RunInfo(starting_agent=agent, input="hi", run_config=otelagents.RunConfig(),
                                            max_turns=3, streamed=True, include_sensitive_data=False))
    agent_obs = run.agent_started(agent, 1)
    call = agent_obs.model_call_started(ModelCallInfo(
        agent=agent, model=ModelInfo("m", "openai", "responses", "127.0.0.1", 8000), turn=1,
        system_instructions=None, input=[], settings=ModelSettings(), tools=[], handoffs=[], output_type=None))
    call.request_sent()
    for name in names:
        if name == pause_before:
            time.sleep(PAUSE_S)
        call.event(EVENTS[name])
    call.ended(None, Outcome())
    agent_obs.ended(Outcome())
    run.ended(Outcome())


SEQUENCES = [
    [],
    ["created", "completed"],
    ["text"],
    ["text", "text"],
    ["created", "item", "text", "text", "text", "completed"],
    ["item", "text", "text"],
    ["args", "args", "text", "text", "refusal"],
    ["created", "args", "item", "args", "completed"],
    ["reasoning", "reasoning", "item", "text", "reasoning", "text"],
    ["text", "args", "text", "refusal", "reasoning", "item", "text"],
    ["refusal", "refusal"],
]


@pytest.mark.parametrize("names", SEQUENCES, ids=lambda names: "-".join(names) or "nothing")
def test_every_output_delta_is_a_chunk_whatever_came_before(names: list[str]) -> None:
    rig = make_rig()
    run_call(rig, names)
    chunks = sum(1 for n in names if n in OUTPUT)
    attrs = rig.span("chat m").attributes or {}
    assert attrs[sc.OTELAGENTS_OUTPUT_CHUNKS] == chunks
    assert (sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in attrs) == bool(names)
    assert (sc.OTELAGENTS_TIME_TO_FIRST_TOKEN in attrs) == bool(chunks)
    gaps = [p for s in rig.engine.collect() if s.name == sc.METRIC_TIME_PER_OUTPUT_CHUNK for p in s.points]
    assert sum(p.count for p in gaps) == max(chunks - 1, 0)  # type: ignore[union-attr]
    workflow = rig.span(f"invoke_workflow {otelagents.RunConfig().workflow_name}").attributes or {}
    assert (sc.OTELAGENTS_RUN_TIME_TO_FIRST_TEXT in workflow) == any(n in TEXT for n in names)


@pytest.mark.parametrize("first_text", ["text", "refusal"])
def test_time_to_first_text_starts_at_the_first_text_not_the_first_delta(first_text: str) -> None:
    rig = make_rig()
    run_call(rig, ["created", "args", "args", first_text, "text"], pause_before=first_text)
    chat = rig.span("chat m").attributes or {}
    workflow = rig.span(f"invoke_workflow {otelagents.RunConfig().workflow_name}").attributes or {}
    first_token = chat[sc.OTELAGENTS_TIME_TO_FIRST_TOKEN]
    first_text_s = workflow[sc.OTELAGENTS_RUN_TIME_TO_FIRST_TEXT]
    assert isinstance(first_token, float) and isinstance(first_text_s, float)
    assert first_text_s - first_token >= PAUSE_S * 0.9  # the pause sits between the first delta and the text
    assert chat[sc.OTELAGENTS_OUTPUT_CHUNKS] == 4
    assert hist(rig.engine, sc.METRIC_TIME_PER_OUTPUT_CHUNK, {sc.GEN_AI_AGENT_NAME: "kinds"}).max >= PAUSE_S * 0.9
