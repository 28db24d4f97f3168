"""The retry policy: after a call, is the lead final, or when is it dialed again, and why?

A callback the lead asked for is a promise the agent made ("I will call you back tomorrow at 5"): it is kept
whatever the campaign's retry list says, at the time asked (no later than ``callback_within_days``, then moved
into the calling window by the caller of ``decide``), up to ``CALLBACK_ATTEMPT_CAP`` attempts in all. A voicemail
message that says "we will call you again" is left only when the policy retries voicemail
(``leaves_voicemail_promise``), so it is never a promise the dispatcher will not keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from control_api.dispatch.dispositions import RETRY, Disposition, retry_key

# A call that errored (engine fault, lost worker, a shutdown's drain running out) is tried once more, then
# quarantined, whatever the policy lists or allows.
ERROR_RETRIES = 1
# However often a lead asks to be called later, the dispatcher stops after this many attempts.
CALLBACK_ATTEMPT_CAP = 10
DEFAULT_CALLBACK_WITHIN_DAYS = 7
# "Call me later" without a time the agent could read: the same hour the next day.
CALLBACK_WITHOUT_TIME = timedelta(days=1)


class Reason:
    """Why a lead waits for its next attempt (the leads API's ``next_attempt_reason``)."""

    CALLBACK = "callback"
    VOICEMAIL = "voicemail"
    RETRY = "retry"
    ERROR = "error"
    WINDOW = "window"  # outside the calling window: its next opening
    TIME_BAND = "time_band"  # the lead's DND time band excludes now
    CARRIER = "carrier_outage"  # the carrier was out: the dial never reached the lead


@dataclass(frozen=True)
class Decision:
    status: str  # RETRY, or the final disposition / outcome
    next_attempt_at: datetime | None
    reason: str | None = None


def decide(
    policy: dict[str, Any],
    *,
    attempts: int,
    errors: int,
    disposition: Disposition,
    outcome: str | None,
    callback_at: str | None,
    now: datetime,
) -> Decision:
    """``attempts`` counts the dial just finished; ``errors`` the errored attempts so far, this one included."""
    final = Decision(status=str(disposition), next_attempt_at=None)
    if outcome == "opted_out":
        return final  # never again, whatever the policy says
    key = retry_key(disposition, outcome)
    if key == "callback_requested":
        return _callback(policy, attempts, callback_at, now) or final
    if disposition is Disposition.ERROR:
        # Our fault (engine, lost worker, a shutdown), not the lead's: one more try, whatever max_attempts says.
        if errors > ERROR_RETRIES:
            return final
    elif attempts >= int(policy.get("max_attempts", 1)) or key not in policy.get("dispositions", []):
        return final
    spacing = [int(m) for m in policy.get("spacing_minutes", [])] or [30]
    wait = timedelta(minutes=spacing[min(attempts - 1, len(spacing) - 1)])
    reason = (
        Reason.ERROR if disposition is Disposition.ERROR else Reason.VOICEMAIL if key == "voicemail" else Reason.RETRY
    )
    return Decision(status=RETRY, next_attempt_at=now + wait, reason=reason)


def _callback(policy: dict[str, Any], attempts: int, callback_at: str | None, now: datetime) -> Decision | None:
    if attempts >= CALLBACK_ATTEMPT_CAP:
        return None
    latest = now + timedelta(days=int(policy.get("callback_within_days", DEFAULT_CALLBACK_WITHIN_DAYS)))
    when = now + CALLBACK_WITHOUT_TIME
    if callback_at:
        try:
            asked = datetime.fromisoformat(callback_at)
        except ValueError:
            asked = None
        if asked is not None and asked.tzinfo is not None and asked > now:
            when = asked
    return Decision(status=RETRY, next_attempt_at=min(when, latest), reason=Reason.CALLBACK)


def leaves_voicemail_promise(policy: dict[str, Any], attempt: int) -> bool:
    """Whether a voicemail reached on dial number ``attempt`` is dialed again (so its message may say so)."""
    return "voicemail" in policy.get("dispositions", []) and attempt < int(policy.get("max_attempts", 1))
