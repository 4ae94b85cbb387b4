"""otelagents' telemetry for unmodified OpenAI Agents SDK applications (``openai-agents``).

``OpenAIAgentsInstrumentor().instrument()`` (or ``opentelemetry-instrument``, through the
``otelagents_agents_sdk`` entry point) gives ``agents.Runner`` runs the same spans and metrics as
otelagents' own runner. This package is the only place in otelagents that imports ``agents``; importing
it does not (the SDK loads when ``instrument()`` is called).
"""

from __future__ import annotations

from ._instrumentor import SUPPORTED, OpenAIAgentsInstrumentor

__all__ = ["SUPPORTED", "OpenAIAgentsInstrumentor"]
