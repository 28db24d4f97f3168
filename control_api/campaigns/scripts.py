"""Validating a campaign's agent script with the engine's script schema (``engine.agent.script``).

The script arrives as a JSON object or as YAML/JSON text; it is stored as the object. Its TRAI category (1-8)
becomes the campaign's category. Schema errors come back field by field, with line numbers for text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from control_api.errors import InvalidField
from engine.facade import ScriptError, load_script_text, parse_script


@dataclass(frozen=True)
class ValidScript:
    data: dict[str, Any]
    category: int


def _errors_of(exc: ScriptError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors or [{"field": "", "line": None, "message": str(exc)}]:
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
    try:
        parsed = load_script_text(value) if isinstance(value, str) else parse_script(data)
    except ScriptError as exc:
        errors = _errors_of(exc)
        raise InvalidField(errors[0]["field"], errors[0]["message"], errors=errors) from exc
    category = int(parsed.category)
    if not 1 <= category <= 8:
        raise InvalidField("script.category", "category must be a TRAI category 1-8")
    return ValidScript(data=data, category=category)
