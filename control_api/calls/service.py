"""Call reads. Transcript, turns and slots are whatever the engine recorded (``CallRecord.to_dict()``); columns
are preferred, the full record fills in what they lack (e.g. after the retention purge emptied the content)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts.service import Principal
from control_api.calls import repository as repo
from control_api.calls.schemas import CallDetail, CallPage, CallSummary
from control_api.calls.tables import Call
from control_api.campaigns import service as campaigns
from control_api.errors import NotFound
from control_api.pagination import decode_cursor, encode_cursor


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
