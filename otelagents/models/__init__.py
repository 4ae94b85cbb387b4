"""Model interface and adapters."""

from .interface import Model, ModelInfo, ModelProvider, ModelTracing

__all__ = ["Model", "ModelInfo", "ModelProvider", "ModelTracing"]
