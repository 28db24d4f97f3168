"""Locating and loading the bundled models, once per process."""

from models.registry import ModelInfo, ModelMissingError, ModelRegistry, get_registry

__all__ = ["ModelInfo", "ModelMissingError", "ModelRegistry", "get_registry"]
