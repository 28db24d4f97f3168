"""The deployment's configuration: every setting, read from the environment by the command layer only."""

from config.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
