"""OpenTelemetry instrumentors (``opentelemetry-instrumentation``'s ``BaseInstrumentor``) for otelagents.

* ``OtelAgentsInstrumentor``: otelagents' own runner (entry point ``otelagents``);
* ``OpenAIAgentsInstrumentor``: the unmodified ``openai-agents`` SDK (entry point ``otelagents_agents_sdk``).

Both are registered as ``opentelemetry_instrumentor`` entry points, so ``opentelemetry-instrument`` applies
them with no code change. Importing this package imports neither: each loads on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["OpenAIAgentsInstrumentor", "OtelAgentsInstrumentor"]

_LAZY = {
    "OtelAgentsInstrumentor": "otelagents.instrumentation.runner",
    "OpenAIAgentsInstrumentor": "otelagents.instrumentation.agents_sdk",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'otelagents.instrumentation' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
