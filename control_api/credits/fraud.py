"""The fraud guard: per-account caps on calls per hour and on spend per day, checked before every dial batch.
Exceeding one pauses the campaign with the reason instead of dialing (the dispatcher does the pausing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from control_api.credits import ledger

CALLS_PER_HOUR = "fraud_calls_per_hour"
SPEND_PER_DAY = "fraud_spend_per_day"


@dataclass(frozen=True)
class Limits:
    max_calls_per_hour: int
    max_spend_per_day: int


async def check(session: AsyncSession, account_id: str, limits: Limits, now: datetime, *, next_hold: int) -> str | None:
    """The reason to stop dialing for this account, or None. ``next_hold`` is the reservation the next call
    would add, so the cap holds before the call, not after it."""
    if await ledger.calls_since(session, account_id, now - timedelta(hours=1)) >= limits.max_calls_per_hour:
        return CALLS_PER_HOUR
    if await ledger.spend_since(session, account_id, now - timedelta(days=1)) + next_hold > limits.max_spend_per_day:
        return SPEND_PER_DAY
    return None
