"""The calling window in the lead's local time, on the campaign's days, and when it next opens."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def inside(zone: ZoneInfo, now: datetime, start: str, end: str, days: list[str]) -> bool:
    local = now.astimezone(zone)
    return DAY_NAMES[local.weekday()] in days and _hhmm(start) <= local.time() < _hhmm(end)


def next_opening(zone: ZoneInfo, now: datetime, start: str, end: str, days: list[str]) -> datetime:
    """The first moment at or after ``now`` inside the window (UTC); ``now`` itself when already inside."""
    if inside(zone, now, start, end, days):
        return now
    local = now.astimezone(zone)
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        if DAY_NAMES[day.weekday()] not in days:
            continue
        opening = datetime.combine(day, _hhmm(start), tzinfo=zone)
        if opening >= local:
            return opening.astimezone(UTC)
    raise ValueError("the campaign has no calling day")
