"""Jinja filters of the console: times, durations, outcomes, the latency chart."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar.plugins.jinja import JinjaTemplateEngine

OUTCOME_LABELS = {
    "qualified": "Qualified",
    "not_qualified": "Not qualified",
    "needs_review": "Needs review",
    "callback_requested": "Callback requested",
    "opted_out": "Opted out",
    "wrong_person": "Wrong person",
    "voicemail": "Voicemail",
    "no_response": "No response",
    "hung_up": "Hung up",
    "transferred": "Transferred",
    "error": "Error",
}


def clock(seconds: float | None) -> str:
    """Seconds since the call was answered as m:ss.s (transcript timestamps)."""
    if seconds is None:
        return ""
    minutes, rest = divmod(max(0.0, float(seconds)), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = round(float(seconds))
    return f"{s // 60}m {s % 60:02d}s" if s >= 60 else f"{s}s"


# The console is read by Indian teams about Indian leads: times are shown in India's time, the leads' local time.
CONSOLE_ZONE = ZoneInfo("Asia/Kolkata")


def when(value: datetime | str | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return when(parsed)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # the database's times are UTC
    return value.astimezone(CONSOLE_ZONE).strftime("%d %b %Y, %H:%M IST")


def outcome_label(value: str | None) -> str:
    return OUTCOME_LABELS.get(value or "", (value or "–").replace("_", " ").capitalize())


def ms(seconds: Any) -> str:
    try:
        return f"{float(seconds) * 1000:.0f} ms"
    except (TypeError, ValueError):
        return "–"


def register_filters(engine: JinjaTemplateEngine) -> None:
    for name, fn in {
        "clock": clock,
        "duration": duration,
        "when": when,
        "outcome_label": outcome_label,
        "ms": ms,
    }.items():
        engine.engine.filters[name] = fn
