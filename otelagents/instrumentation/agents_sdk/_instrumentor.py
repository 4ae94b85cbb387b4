"""``OpenAIAgentsInstrumentor``: otelagents' telemetry for unmodified OpenAI Agents SDK applications."""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

logger = logging.getLogger("otelagents.instrumentation.agents_sdk")

SUPPORTED = "openai-agents >= 0.24.0, < 0.25"
_TESTED_MINOR = (0, 24)
_INSTALL_HINT = ('otelagents\' Agents SDK plugin needs the openai-agents package: '
                 'pip install "otelagents[agents-sdk]"')

_SETTINGS = ("tracer_provider", "meter_provider", "telemetry", "capture_content", "content_max_length",
             "stall_threshold_s")
_lock = threading.Lock()
_processor: Any = None
_warned: set[str] = set()


def _warn_once(key: str, message: str, *args: Any) -> None:
    if key not in _warned:
        _warned.add(key)
        logger.warning(message, *args)


def _version_tuple(version: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in version.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _register(agents: Any, processor: Any, first: bool) -> None:
    """Add our processor to the SDK's, once (again if ``set_trace_processors`` replaced the list since)."""
    multi = getattr(agents.tracing.get_trace_provider(), "_multi_processor", None)
    current = getattr(multi, "_processors", None)
    if current is None:  # an SDK that hides its list: register only the first time
        if first:
            agents.add_trace_processor(processor)
        return
    if processor not in current:
        agents.add_trace_processor(processor)


class OpenAIAgentsInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Spans and metrics for ``agents.Runner`` runs, the same as otelagents' own runner produces.

    ``instrument(tracer_provider=..., meter_provider=...)`` (defaults: the global providers). Also
    accepted: ``telemetry=`` (an ``otelagents.telemetry.Telemetry`` to report into, e.g. the one
    ``otelagents.telemetry.setup()`` returns), ``capture_content=``, ``content_max_length=`` and
    ``stall_threshold_s=`` (see ``Telemetry``). The SDK's own tracing and its exporters stay exactly as
    configured. Supported: ``openai-agents >= 0.24.0, < 0.25`` (other versions: what is recognisable is
    instrumented, with one warning).
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("openai-agents >= 0.24.0",)

    def instrument(self, **kwargs: Any) -> Any:
        if importlib.util.find_spec("agents") is None:
            raise ModuleNotFoundError(_INSTALL_HINT, name="agents")
        return super().instrument(**kwargs)

    def _instrument(self, **kwargs: Any) -> None:
        global _processor
        import agents

        from otelagents.telemetry._observer import Telemetry

        from . import _patches
        from ._processor import ObservingProcessor

        unknown = sorted(set(kwargs) - set(_SETTINGS))
        if unknown:
            raise TypeError(f"OpenAIAgentsInstrumentor.instrument() got unknown settings {unknown}; it accepts "
                            f"{list(_SETTINGS)}")
        version = str(getattr(agents, "__version__", "0"))
        if _version_tuple(version) != _TESTED_MINOR:
            _warn_once("version", "otelagents: openai-agents %s is outside the tested range (%s); instrumenting "
                       "what is recognisable", version, SUPPORTED)
        telemetry = kwargs.get("telemetry")
        if telemetry is None:
            options = {key: kwargs[key] for key in ("capture_content", "content_max_length", "stall_threshold_s")
                       if key in kwargs}
            telemetry = Telemetry(kwargs.get("tracer_provider"), kwargs.get("meter_provider"), **options)
        with _lock:
            missing = _patches.patch_all(telemetry)
            if missing:
                _warn_once("missing", "otelagents: these openai-agents internals were not found, so what they "
                           "show is not observed: %s", ", ".join(missing))
            first = _processor is None
            if _processor is None:
                _processor = ObservingProcessor()
            _processor.enabled = True
            _patches.kept_processor = _processor
            _register(agents, _processor, first)
        self.telemetry = telemetry

    def _uninstrument(self, **kwargs: Any) -> None:
        from . import _patches

        with _lock:
            _patches.unpatch_all()
            if _processor is not None:
                _processor.enabled = False  # the SDK has no way to remove one processor: it goes inert
