"""Helpers for the profiler's tests: a test server whose answer (timing, fault) is keyed on the prompt."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from otelagents.observer import RunObserver
from otelagents.profile import Endpoint, Profile, ProfileOptions, profile, workload
from otelagents.testing.server import RecordedRequest, Reply

PROMPT = re.compile(r"request (\d+)")


def prompt_index(request: RecordedRequest) -> int:
    """The number in the last user message ("request 7" -> 7) of a Responses or Chat request."""
    body = request.body if isinstance(request.body, dict) else {}
    items = body.get("input") or body.get("messages") or []
    texts = [json.dumps(item) for item in items] if isinstance(items, list) else [str(items)]
    for text in reversed(texts):
        match = PROMPT.search(text)
        if match:
            return int(match.group(1))
    raise AssertionError(f"no 'request N' prompt in {body!r}")


def keyed_responder(reply_for: Callable[[int], Reply]) -> Callable[[RecordedRequest], Reply]:
    return lambda request: reply_for(prompt_index(request))


def prompts_file(tmp_path: Path, count: int, name: str = "keyed") -> Path:
    """A scenario file whose prompts are "request 0" .. "request count-1"."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"name": name, "prompts": [f"request {i}" for i in range(count)]}))
    return path


def run_profile(scenario: str | Path, endpoint: Endpoint, observers: list[RunObserver] | None = None,
                **options: Any) -> Profile:
    """Profile in process (no report); returns the result."""
    opts = ProfileOptions(workload=workload(str(scenario)), endpoint=endpoint, **{"warmup": 0, **options})
    return asyncio.run(profile(opts, observers or [], io.StringIO(), io.StringIO()))
