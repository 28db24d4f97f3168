"""Validating a campaign's agent script with the engine's script schema (``engine.agent.script``).

The script arrives as a JSON object or as YAML/JSON text; it is stored as the object. Its TRAI category (1-8)
becomes the campaign's category. Schema errors come back field by field, with line numbers for text.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import yaml

from control_api.errors import InvalidField


@dataclass(frozen=True)
class ValidScript:
    data: dict[str, Any]
    category: int


def _script_module() -> ModuleType | None:
    try:
        return importlib.import_module("engine.agent.script")
    except ModuleNotFoundError as exc:
        if exc.name in ("engine.agent.script", "engine.agent", "engine"):
            return None
        raise


def _errors_of(exc: Exception) -> list[dict[str, Any]]:
    errors = []
    for err in getattr(exc, "errors", None) or [{"field": "", "line": None, "message": str(exc)}]:
        inner = str(err.get("field") or "")
        errors.append(
            {
                "field": f"script.{inner}" if inner else "script",
                "line": err.get("line"),
                "message": str(err.get("message", "")),
            }
        )
    return errors


def validate_script(value: dict[str, Any] | str) -> ValidScript:
    if isinstance(value, str):
        try:
            data = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise InvalidField("script", f"script text is not valid YAML/JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidField("script", "script text must hold a mapping")
    else:
        data = value
    module = _script_module()
    if module is None:
        return ValidScript(data=data, category=_fallback_category(data))
    try:
        parsed = module.load_script_text(value) if isinstance(value, str) else module.parse_script(data)
    except module.ScriptError as exc:
        errors = _errors_of(exc)
        raise InvalidField(errors[0]["field"], errors[0]["message"], errors=errors) from exc
    category = int(parsed.category)
    if not 1 <= category <= 8:
        raise InvalidField("script.category", "category must be a TRAI category 1-8")
    return ValidScript(data=data, category=category)


def _fallback_category(data: dict[str, Any]) -> int:
    # Only while the engine's schema module is absent: the one field this API itself depends on.
    category = data.get("category")
    if not isinstance(category, int) or isinstance(category, bool) or not 1 <= category <= 8:
        raise InvalidField("script.category", "category must be a TRAI category 1-8")
    return category
