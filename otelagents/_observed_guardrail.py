"""One guardrail check reported to its observation: the run loop's input and output guardrails, its tool
guardrails, and the Agents SDK plugin's tool guardrails all go through ``observed_check``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ._observing import safe_call
from .observer import NOOP_GUARDRAIL, GuardrailInfo, GuardrailObservation, Outcome

T = TypeVar("T")

ENDED = "GuardrailObservation.ended"


async def observed_check(start: Callable[[GuardrailInfo], GuardrailObservation], info: GuardrailInfo,
                         check: Callable[[], Awaitable[T]], tripped: Callable[[T], bool | BaseException]) -> T:
    """Run ``check`` inside the observation ``start(info)`` opens, and end it as the check ended.

    Cancelled (or closed) or raised: the observation ends with that error, and it propagates. Otherwise
    ``tripped(result)`` says how the check came out: False, it passed; True, its tripwire fired and the run
    goes on (a rejected tool call); an exception, its tripwire fired and the run stops with that error.
    An observer that fails does not change the check's result (see ``safe_call``)."""
    ended = safe_call("guardrail_started", start, NOOP_GUARDRAIL, info).ended
    try:
        result = await check()
    except (asyncio.CancelledError, GeneratorExit) as exc:
        safe_call(ENDED, ended, None, Outcome(error=exc, cancelled=True))
        raise
    except BaseException as exc:
        safe_call(ENDED, ended, None, Outcome(error=exc))
        raise
    verdict = tripped(result)
    if isinstance(verdict, BaseException):
        safe_call(ENDED, ended, None, Outcome(error=verdict), True)
    else:
        safe_call(ENDED, ended, None, Outcome(), verdict)
    return result
