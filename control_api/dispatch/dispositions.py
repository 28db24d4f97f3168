"""Dispositions: what happened to one dial (or why it was not placed), and the engine record -> disposition map."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from engine.records import CallRecord


class Disposition(StrEnum):
    # Pre-dial checks, in the order they run.
    INVALID_NUMBER = "invalid_number"
    CONSENT_MISSING = "consent_missing"
    DND_BLOCKED = "dnd_blocked"
    OUTSIDE_WINDOW = "outside_window"
    BALANCE_LOW = "balance_low"
    # Call results.
    COMPLETED = "completed"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    VOICEMAIL = "voicemail"
    HUNG_UP = "hung_up"
    ERROR = "error"


PRE_DIAL_ORDER: Final = (
    Disposition.INVALID_NUMBER,
    Disposition.CONSENT_MISSING,
    Disposition.DND_BLOCKED,
    Disposition.OUTSIDE_WINDOW,
    Disposition.BALANCE_LOW,
)
# Skips that end the lead: calling again would break the same rule.
FINAL_SKIPS: Final = frozenset({Disposition.INVALID_NUMBER, Disposition.CONSENT_MISSING, Disposition.DND_BLOCKED})
# Skips after which the lead waits (next window, or a top-up and resume).
WAITING_SKIPS: Final = frozenset({Disposition.OUTSIDE_WINDOW, Disposition.BALANCE_LOW})

# Lead statuses the dispatcher writes besides the final dispositions.
PENDING, RETRY, DIALING = "pending", "retry", "dialing"
OPEN_STATUSES: Final = frozenset({PENDING, RETRY, DIALING})


def from_record(record: CallRecord) -> tuple[Disposition, str | None]:
    """An answered call's disposition and the agent's outcome."""
    outcome = str(record.outcome)
    if outcome == "voicemail":
        return Disposition.VOICEMAIL, outcome
    if outcome == "hung_up":
        return Disposition.HUNG_UP, outcome
    if outcome == "error" or (record.error and record.ended_by == "error"):
        return Disposition.ERROR, outcome
    return Disposition.COMPLETED, outcome


def retry_key(disposition: Disposition, outcome: str | None) -> str:
    """The name a campaign's retry policy uses: the agent outcome for completed calls (``no_response``,
    ``callback_requested``), the disposition otherwise."""
    if disposition is Disposition.COMPLETED and outcome:
        return outcome
    return str(disposition)
