"""Locating and loading the bundled models, once per process."""

from models.registry import ModelConfig, ModelInfo, ModelMissingError, ModelRegistry, shared_registry

__all__ = ["ModelConfig", "ModelInfo", "ModelMissingError", "ModelRegistry", "shared_registry"]
