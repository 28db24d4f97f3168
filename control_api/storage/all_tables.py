"""Imports every module that defines tables, so ``Base.metadata`` is complete for Alembic and for tests.

Other areas append their table modules here (one import line each)."""

from __future__ import annotations

import importlib
import logging

from control_api.storage import tables as _core  # noqa: F401

log = logging.getLogger(__name__)

# Optional modules of other areas; each may not exist yet while the areas are built in parallel.
_OPTIONAL = (
    "control_api.audit.tables",
    "control_api.privacy.tables",
    "control_api.dispatch.tables",
    "control_api.credits.tables",
)
for _name in _OPTIONAL:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not _name.startswith(exc.name):
            raise
