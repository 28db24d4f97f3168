"""Validating a campaign's agent script with the engine's script schema (``engine.agent.script``).

The script arrives as a JSON object or as YAML/JSON text; it is stored as the object. Its TRAI category (1-8)
becomes the campaign's category. Schema errors come back field by field, with line numbers for text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from control_api.errors import InvalidField
from engine.facade import ScriptError, load_script_document, parse_script, recording_disclosure_problem

# Parsing is bounded (size, nesting, no YAML aliases), so this is a backstop: a script that still takes longer is
# refused rather than holding a worker thread's answer indefinitely.
CHECK_SECONDS = 5.0


# The engine's judgement of a script's language and voice on this deployment (``Engine.speech_problem``):
# (script field, why) or None.
SpeechCheck = Callable[[str, str | None], Awaitable[tuple[str, str] | None]]


@dataclass(frozen=True)
class ValidScript:
    data: dict[str, Any]
    category: int
    language: str = "en-IN"
    voice: str | None = None


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
    """CPU-bound (YAML parsing, schema checks): call ``check_script`` from the event loop."""
    try:
        if isinstance(value, str):
            data, parsed = load_script_document(value)
        else:
            data, parsed = value, parse_script(value)
    except ScriptError as exc:
        errors = _errors_of(exc)
        raise InvalidField(errors[0]["field"], errors[0]["message"], errors=errors) from exc
    category = int(parsed.category)
    if not 1 <= category <= 8:
        raise InvalidField("script.category", "category must be a TRAI category 1-8")
    return ValidScript(data=data, category=category, language=parsed.language, voice=parsed.voice)


def check_recording_disclosure(script: dict[str, Any], recording: str) -> None:
    """A recorded campaign's greeting must tell the lead the call is recorded."""
    if recording != "on":
        return
    problem = recording_disclosure_problem(str(script.get("greeting", "")), str(script.get("language") or "en-IN"))
    if problem is not None:
        raise InvalidField("script.greeting", problem)


async def check_script(value: dict[str, Any] | str, speech: SpeechCheck | None = None) -> ValidScript:
    """``validate_script`` in a worker thread, so a large script never stalls the event loop; then, with the
    engine's ``speech`` check, whether this deployment has the speech model and voice the script asks for (an app
    without an engine has no models to judge by)."""
    try:
        script = await asyncio.wait_for(asyncio.to_thread(validate_script, value), CHECK_SECONDS)
    except TimeoutError:
        raise InvalidField("script", f"the script could not be checked within {CHECK_SECONDS:g} s") from None
    if speech is not None:
        problem = await speech(script.language, script.voice)
        if problem is not None:
            field, detail = problem
            raise InvalidField(f"script.{field}", detail)
    return script
