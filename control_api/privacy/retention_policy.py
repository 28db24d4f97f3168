"""The two retention clocks as pure computations (no I/O), so each rule is tested with plain values.

Clock 1, content: transcripts, audio, slot values and webhook payload copies of a call are purged
``content_days`` after the call (90 by default; a campaign or account may configure its own).
Clock 2, metadata: the call row itself (time, duration, disposition, lead id: no content) and the audit log are
kept ``metadata_days`` (at least 365, DPDP Rule 8(3)) and then erased too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


def effective_content_days(
    *, campaign_days: int | None, account_days: int | None, default_days: int, metadata_days: int
) -> int:
    """A campaign's own setting wins when it differs from the deployment default (the column always has a value,
    so "equal to the default" means "not configured"); else the account's; else the default. Content never
    outlives the call row that holds it, hence the cap at the metadata clock."""
    if campaign_days is not None and campaign_days != default_days:
        days = campaign_days
    elif account_days is not None:
        days = account_days
    else:
        days = default_days
    if days < 1:
        raise ValueError("retention must be at least one day")
    return min(days, metadata_days)


@dataclass(frozen=True)
class Cutoffs:
    now: datetime
    metadata_before: datetime  # call rows, leads and audit entries older than this go

    def content_before(self, content_days: int) -> datetime:
        return self.now - timedelta(days=content_days)


def cutoffs(now: datetime, *, metadata_days: int) -> Cutoffs:
    if now.tzinfo is None:
        raise ValueError("retention clocks run on aware UTC datetimes")
    return Cutoffs(now=now, metadata_before=now - timedelta(days=metadata_days))


def content_expired(call_time: datetime, content_days: int, now: datetime) -> bool:
    return call_time < now - timedelta(days=content_days)


def next_run(previous_start: datetime, interval_s: float, now: datetime) -> datetime:
    """The next slot on the fixed grid that started at ``previous_start``, strictly after ``now``: a server that
    was down for a day runs once on restart, not once per missed slot."""
    step = timedelta(seconds=interval_s)
    if now < previous_start + step:
        return previous_start + step
    missed = int((now - previous_start) / step)
    return previous_start + step * (missed + 1)
