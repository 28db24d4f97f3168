"""The legal calling hours every campaign window lies within.

TRAI allows commercial calls only between 09:00 and 21:00 in the lead's local time. A campaign's own window may be
narrower, never wider: a window reaching outside is refused when the campaign is created or changed, and at dial
time the stored window is clamped to the legal hours whatever it says (a window written before the hours were
narrowed, or straight into the database, still cannot dial at 3 am). Only the deployment's operator changes the
legal hours (``CLOSERR_CALLING_HOURS_START`` / ``_END``).
"""

from __future__ import annotations

from dataclasses import dataclass

from control_api.errors import InvalidField

TRAI_START = "09:00"
TRAI_END = "21:00"


@dataclass(frozen=True)
class CallingHours:
    start: str = TRAI_START
    end: str = TRAI_END

    def check(self, start: str, end: str) -> None:
        """Refuse a campaign window that is empty or reaches outside the legal hours (HH:MM strings compare as
        times)."""
        if start < self.start:
            raise InvalidField(
                "calling_window.start",
                f"calling_window.start {start} is before {self.start}: calls may be placed only "
                f"{self.start}-{self.end} in the lead's local time (TRAI)",
            )
        if end > self.end:
            raise InvalidField(
                "calling_window.end",
                f"calling_window.end {end} is after {self.end}: calls may be placed only "
                f"{self.start}-{self.end} in the lead's local time (TRAI)",
            )
        if start >= end:
            raise InvalidField("calling_window.end", "calling_window.end must be later than calling_window.start")

    def clamp(self, start: str, end: str) -> tuple[str, str] | None:
        """The part of a stored window inside the legal hours; None when nothing of it is."""
        start, end = max(start, self.start), min(end, self.end)
        return (start, end) if start < end else None
