"""Call reads. Transcript, turns and slots are whatever the engine recorded (``CallRecord.to_dict()``); columns
are preferred, the full record fills in what they lack (e.g. after the retention purge emptied the content)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts.service import Principal
from control_api.calls import repository as repo
from control_api.calls.schemas import CallDetail, CallPage, CallSummary, LiveCall, LiveCallPage, LiveLine
from control_api.calls.tables import Call
from control_api.campaigns import service as campaigns
from control_api.dispatch.progress import RINGING
from control_api.dispatch.tables import DispatchLease
from control_api.errors import InvalidField, NotFound
from control_api.pagination import decode_cursor, encode_cursor
from control_api.storage.types import utcnow

LIVE = "live"


def summary(c: Call) -> CallSummary:
    return CallSummary(
        id=c.id,
        campaign_id=c.campaign_id,
        lead_id=c.lead_id,
        attempt=c.attempt,
        status=c.status,
        outcome=c.outcome,
        started_at=c.started_at,
        ended_at=c.ended_at,
        duration_s=c.duration_s,
        created_at=c.created_at,
    )


def detail(c: Call) -> CallDetail:
    record = c.record or {}
    return CallDetail(
        id=c.id,
        campaign_id=c.campaign_id,
        lead_id=c.lead_id,
        attempt=c.attempt,
        status=c.status,
        outcome=c.outcome or record.get("outcome"),
        started_at=c.started_at,
        ended_at=c.ended_at,
        duration_s=c.duration_s if c.duration_s is not None else record.get("duration_s"),
        created_at=c.created_at,
        transcript=c.transcript if c.transcript is not None else record.get("transcript"),
        turns=c.turns if c.turns is not None else record.get("turns"),
        slots=c.slots if c.slots is not None else record.get("slots"),
        latency=record.get("latency"),
        ended_by=record.get("ended_by"),
        opted_out=record.get("opted_out"),
        callback_at=record.get("callback_at"),
        error=c.error or record.get("error"),
        policy=record.get("policy"),
        fallback_turns=record.get("fallback_turns"),
        transfer=record.get("transfer"),
        recording=record.get("recording"),
    )


async def get_call(session: AsyncSession, principal: Principal, call_id: str) -> CallDetail:
    call = await repo.get(session, principal.account_id, call_id)
    if call is None:
        raise NotFound("call")
    return detail(call)


async def list_calls(
    session: AsyncSession, principal: Principal, campaign_id: str, limit: int, cursor: str | None
) -> CallPage:
    await campaigns.get_owned(session, principal, campaign_id)
    offset = decode_cursor(cursor)
    rows = await repo.list_for_campaign(session, principal.account_id, campaign_id, offset, limit + 1)
    return CallPage(
        items=[summary(c) for c in rows[:limit]],
        next_cursor=encode_cursor(offset + limit) if len(rows) > limit else None,
    )


def live_view(lease: DispatchLease) -> LiveCall:
    line = None if lease.live_role is None else LiveLine(role=lease.live_role, text=lease.live_text or "")
    return LiveCall(
        id=lease.call_id,
        campaign_id=lease.campaign_id,
        lead_id=lease.lead_id,
        attempt=lease.attempt,
        worker_id=lease.worker_id,
        state=lease.live_state or RINGING,
        started_at=lease.leased_at,
        turns=lease.live_turns or 0,
        last_line=line,
        updated_at=lease.live_at or lease.leased_at,
    )


async def live_calls(
    session: AsyncSession, principal: Principal, offset: int, limit: int, now: datetime | None = None
) -> list[tuple[LiveCall, str]]:
    """The account's calls in progress on every worker, each with its campaign's name."""
    rows = await repo.live_for_account(session, principal.account_id, now or utcnow(), offset, limit)
    return [(live_view(lease), name) for lease, name in rows]


async def list_by_state(
    session: AsyncSession, principal: Principal, state: str | None, limit: int, cursor: str | None
) -> LiveCallPage:
    if state != LIVE:
        raise InvalidField("state", "calls are listed by state; the one supported is state=live")
    offset = decode_cursor(cursor)
    rows = await live_calls(session, principal, offset, limit + 1)
    return LiveCallPage(
        items=[call for call, _ in rows[:limit]],
        next_cursor=encode_cursor(offset + limit) if len(rows) > limit else None,
    )
