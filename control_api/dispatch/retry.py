"""The retry policy: after a call, is the lead final, or when is it dialed again?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from control_api.dispatch.dispositions import RETRY, Disposition, retry_key

# A call that errored (engine fault, lost worker) is tried once more, then quarantined, whatever the policy lists.
ERROR_RETRIES = 1


@dataclass(frozen=True)
class Decision:
    status: str  # RETRY, or the final disposition / outcome
    next_attempt_at: datetime | None


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
    max_attempts = int(policy.get("max_attempts", 1))
    if attempts >= max_attempts:
        return final
    key = retry_key(disposition, outcome)
    if disposition is Disposition.ERROR:
        if errors > ERROR_RETRIES:
            return final
    elif key not in policy.get("dispositions", []):
        return final
    spacing = [int(m) for m in policy.get("spacing_minutes", [])] or [30]
    wait = timedelta(minutes=spacing[min(attempts - 1, len(spacing) - 1)])
    when = now + wait
    if key == "callback_requested" and callback_at:
        try:
            asked = datetime.fromisoformat(callback_at)
            if asked.tzinfo is not None and asked > now:
                when = asked
        except ValueError:
            pass
    return Decision(status=RETRY, next_attempt_at=when)
