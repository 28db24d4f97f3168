"""Why a campaign is or is not dialing, in one answer a client can act on.

A started campaign can sit without dialing for several reasons that its lifecycle state alone does not tell apart:
paused by the client or by the dispatcher (balance low, fraud guard), outside its calling window (clamped to the
legal hours), or waiting for its leads' next attempts. ``status`` names which, with the moment it changes where
one is known.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.campaigns.calling_hours import CallingHours
from control_api.campaigns.lifecycle import State
from control_api.campaigns.tables import Campaign
from control_api.credits import ledger
from control_api.dispatch import repository as repo
from control_api.dispatch import window
from control_api.dispatch.tables import CampaignDispatch
from control_api.dnd.preferences import zone_of
from control_api.storage.types import utcnow

# With no lead to go by, the window is read in the zone of the platform's home market.
HOME_ZONE = ZoneInfo("Asia/Kolkata")


class Status(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"  # started; the dispatcher picks it up on its next round
    DIALING = "dialing"
    WAITING_FOR_WINDOW = "waiting_for_window"
    WAITING_FOR_RETRY = "waiting_for_retry"  # every open lead waits for its next attempt
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


BY_CLIENT = "by_client"
WINDOW_OUTSIDE_LEGAL_HOURS = "window_outside_legal_hours"


class DispatchState(msgspec.Struct):
    status: str
    reason: str | None  # paused: balance_low, by_client, a fraud-guard reason; waiting: window_outside_legal_hours
    next_opening_at: datetime | None  # when dialing can resume by itself (window opening, next attempt)
    balance: int  # the account's credits that may still be reserved


async def dispatch_state(
    s: AsyncSession, c: Campaign, hours: CallingHours, now: datetime | None = None
) -> DispatchState:
    now = now or utcnow()
    balance = await ledger.balance(s, c.account_id)
    state = State(c.state)
    if state is State.PAUSED:
        row = await s.get(CampaignDispatch, c.id)
        reason = row.paused_reason if row is not None and row.paused_reason else BY_CLIENT
        return DispatchState(Status.PAUSED, reason, None, balance)
    if state not in (State.SCHEDULED, State.RUNNING):
        return DispatchState(str(state), None, None, balance)
    clamped = hours.clamp(c.window_start, c.window_end)
    if clamped is None:
        return DispatchState(Status.WAITING_FOR_WINDOW, WINDOW_OUTSIDE_LEGAL_HOURS, None, balance)
    first = await repo.next_open_lead(s, c.id)
    zone = zone_of(first[0]) if first is not None else HOME_ZONE
    opening = window.next_opening(zone, now, *clamped, list(c.days))
    if opening > now:
        return DispatchState(Status.WAITING_FOR_WINDOW, None, opening, balance)
    if first is not None and first[1] is not None and first[1] > now:
        return DispatchState(Status.WAITING_FOR_RETRY, None, first[1], balance)
    status = Status.SCHEDULED if state is State.SCHEDULED else Status.DIALING
    return DispatchState(status, None, None, balance)
