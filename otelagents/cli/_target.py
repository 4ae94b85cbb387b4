"""Which model the demo talks to: the offline scripted model, or a real OpenAI-compatible endpoint."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from otelagents._scenarios import SCRIPTED_MODEL_NAME, Pace, Scenario, offline_model
from otelagents.models.interface import Model
from otelagents.observer import RunObserver
from otelagents.run_config import RunConfig

from ._errors import CLIError

APIS = ("responses", "chat_completions")
_OPENAI_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class TargetSpec:
    """What the flags asked for, checked before anything starts."""

    model: str | None  # None: offline
    base_url: str | None
    api_key: str | None
    api: str
    pace: Pace

    @property
    def offline(self) -> bool:
        return self.model is None

    @property
    def server(self) -> str:
        return self.base_url or _OPENAI_URL

    def describe(self) -> str:
        if self.offline:
            timing = "no delays (--fast)" if self.pace.is_none else "paced like a hosted model"
            return f"the offline scripted model {SCRIPTED_MODEL_NAME!r}, {timing}; no API key or network needed"
        return f"model {self.model!r} at {self.server} over the {self.api} API"


def target_spec(model: str | None, base_url: str | None, api: str | None, fast: bool) -> TargetSpec:
    """Check the model flags; the errors are usage errors (exit 2)."""
    pace = Pace.none() if fast else Pace()
    if model is None:
        given = [flag for flag, value in (("--base-url", base_url), ("--api", api)) if value is not None]
        if given:
            verb = "needs" if len(given) == 1 else "need"
            raise CLIError(f"{' and '.join(given)} {verb} --model NAME (the model to ask); without --model the "
                           "demo runs offline on the scripted model", usage=True)
        return TargetSpec(None, None, None, "responses", pace)
    if not model.strip():
        raise CLIError("--model needs a model name, e.g. --model gpt-4.1-mini", usage=True)
    url = base_url or os.environ.get("OPENAI_BASE_URL") or None
    if url is not None:
        parts = urlsplit(url)
        source = "--base-url" if base_url else "OPENAI_BASE_URL"
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CLIError(f"{source} {url!r} is not an http(s) URL; use e.g. http://127.0.0.1:8000/v1",
                           usage=True)
    key = os.environ.get("OPENAI_API_KEY") or None
    if key is None and url is None:
        raise CLIError(f"--model {model} needs an OpenAI API key: set OPENAI_API_KEY, or point --base-url (or "
                       "OPENAI_BASE_URL) at an OpenAI-compatible server; or drop --model to run offline",
                       usage=True)
    return TargetSpec(model, url, key, api or "responses", Pace.none())


class Target:
    """Builds each run's ``RunConfig``. Open it inside the event loop that runs the demo; close it after."""

    def __init__(self, spec: TargetSpec) -> None:
        self.spec = spec
        self._client: Any = None
        self._provider: Any = None

    def open(self) -> None:
        if self.spec.offline or self._provider is not None:
            return
        from openai import AsyncOpenAI

        from otelagents.models.openai_provider import PLACEHOLDER_KEY, OpenAIProvider

        self._client = AsyncOpenAI(api_key=self.spec.api_key or PLACEHOLDER_KEY, base_url=self.spec.base_url,
                                   max_retries=1)
        self._provider = OpenAIProvider(openai_client=self._client, use_responses=self.spec.api == "responses")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = self._provider = None

    def run_config(self, scenario: Scenario, observers: list[RunObserver]) -> RunConfig:
        if self.spec.offline:
            model: str | Model = offline_model(scenario, self.spec.pace)
            return RunConfig(model=model, workflow_name=scenario.workflow_name, observers=list(observers))
        self.open()
        return RunConfig(model=self.spec.model, model_provider=self._provider,
                         workflow_name=scenario.workflow_name, observers=list(observers))
