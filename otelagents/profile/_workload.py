"""What the profiler sends, and where: the workload (scenario) and the endpoint.

Scenarios: ``text`` (one streamed answer), ``tools`` (a tool call, then the answer) and ``handoff`` (a
triage agent hands off to a specialist, who answers) are the demo's agents; a JSON file gives your own
prompts (see :func:`load_workload_file`). The endpoint is any OpenAI-compatible base URL, or, with none,
the offline scripted model paced like a hosted one, so the profiler runs anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from otelagents._scenarios import SCENARIOS, SCRIPTED_MODEL_NAME, Pace, Scenario, jokes_text, offline_model
from otelagents.agent import Agent
from otelagents.exceptions import UserError
from otelagents.model_settings import ModelSettings
from otelagents.models.interface import Model
from otelagents.observer import RunObserver
from otelagents.run_config import RunConfig
from otelagents.testing.scripted import ScriptEntry, ScriptRequest

BUILTIN_SCENARIOS: dict[str, str] = {"text": "jokes", "tools": "tools", "handoff": "handoff"}
APIS = ("responses", "chat_completions")


@dataclass(frozen=True)
class Workload:
    """A starting agent and the prompts to send, in turn (request ``i`` sends ``prompts[i % len]``)."""

    name: str
    agent: Callable[[], Agent[Any]]
    prompts: tuple[str, ...]
    script: Callable[[ScriptRequest], ScriptEntry]  # the offline model's answer
    workflow_name: str

    def prompt(self, index: int) -> str:
        return self.prompts[index % len(self.prompts)]


def builtin_workload(name: str) -> Workload:
    """``text``, ``tools`` or ``handoff``."""
    if name not in BUILTIN_SCENARIOS:
        raise UserError(f"unknown scenario {name!r}: use one of {', '.join(BUILTIN_SCENARIOS)}, or the path of a "
                        "JSON file with your prompts")
    scenario: Scenario = SCENARIOS[BUILTIN_SCENARIOS[name]]
    return Workload(name, scenario.agent, (scenario.prompt,), scenario.script, f"profile {name}")


def load_workload_file(path: Path) -> Workload:
    """A workload from a JSON file: ``{"prompts": ["...", ...], "instructions": "...", "name": "..."}``.

    ``prompts`` (required) are sent in turn; ``instructions`` (optional) are the agent's; ``name``
    (optional, default the file's stem) names the workflow in the traces."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read the scenario file {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise UserError(f"the scenario file {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise UserError(f"the scenario file {path} must hold a JSON object with a \"prompts\" list")
    prompts = data.get("prompts")
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) and p.strip() for p in prompts):
        raise UserError(f"the scenario file {path} needs \"prompts\": a non-empty list of non-empty strings")
    instructions = data.get("instructions", "You are a helpful assistant.")
    name = data.get("name", path.stem)
    if not isinstance(instructions, str) or not isinstance(name, str) or not name.strip():
        raise UserError(f"in the scenario file {path}, \"instructions\" and \"name\" must be strings")
    unknown = sorted(set(data) - {"prompts", "instructions", "name"})
    if unknown:
        raise UserError(f"the scenario file {path} has unknown keys {unknown}: use prompts, instructions, name")

    def agent() -> Agent[Any]:
        return Agent(name="Assistant", instructions=instructions)

    return Workload(name, agent, tuple(prompts), lambda request: jokes_text(3), f"profile {name}")


def workload(scenario: str) -> Workload:
    """A built-in scenario by name, else the JSON file at that path."""
    if scenario in BUILTIN_SCENARIOS:
        return builtin_workload(scenario)
    path = Path(scenario)
    if not path.exists():
        raise UserError(f"unknown scenario {scenario!r}: use one of {', '.join(BUILTIN_SCENARIOS)}, or the path "
                        "of a JSON file with your prompts (no such file)")
    return load_workload_file(path)


@dataclass(frozen=True)
class Endpoint:
    """The model to profile. ``base_url=None``: the offline scripted model, paced by ``pace``."""

    base_url: str | None = None
    model: str = SCRIPTED_MODEL_NAME
    api: str = "responses"
    api_key: str | None = None
    max_tokens: int | None = None
    pace: Pace = Pace()

    def __post_init__(self) -> None:
        if self.api not in APIS:
            raise UserError(f"api must be one of {', '.join(APIS)}, not {self.api!r}")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise UserError(f"max_tokens must be at least 1, not {self.max_tokens}")

    @property
    def offline(self) -> bool:
        return self.base_url is None

    def describe(self) -> str:
        if self.offline:
            timing = "with no delays" if self.pace.is_none else "paced like a hosted model"
            return f"the offline scripted model {self.model!r}, {timing} (no network)"
        return f"model {self.model!r} at {self.base_url} over the {self.api} API"


class Client:
    """Builds each request's ``RunConfig``; holds the HTTP client. Open and close it in the profiling loop.

    The OpenAI client does not retry: a profiler reports what the endpoint did, and a silent retry would
    hide an error and stretch a latency."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._client: Any = None
        self._provider: Any = None

    def _open(self) -> None:
        from openai import AsyncOpenAI

        from otelagents.models.openai_provider import PLACEHOLDER_KEY, OpenAIProvider

        self._client = AsyncOpenAI(api_key=self.endpoint.api_key or PLACEHOLDER_KEY,
                                   base_url=self.endpoint.base_url, max_retries=0)
        self._provider = OpenAIProvider(openai_client=self._client,
                                        use_responses=self.endpoint.api == "responses")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = self._provider = None

    def run_config(self, work: Workload, observers: list[RunObserver]) -> RunConfig:
        endpoint = self.endpoint
        settings = ModelSettings(max_tokens=endpoint.max_tokens) if endpoint.max_tokens is not None else None
        if endpoint.offline:
            scenario = Scenario(work.name, work.name, work.prompts[0], work.workflow_name, work.agent, work.script)
            model: Model = offline_model(scenario, endpoint.pace)
            return RunConfig(model=model, model_settings=settings, workflow_name=work.workflow_name,
                             observers=list(observers))
        if self._provider is None:
            self._open()
        return RunConfig(model=endpoint.model, model_provider=self._provider, model_settings=settings,
                         workflow_name=work.workflow_name, observers=list(observers))
