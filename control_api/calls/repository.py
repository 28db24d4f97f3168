"""Call queries, scoped to the owning account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.calls.tables import Call
from control_api.campaigns.tables import Campaign
from control_api.dispatch.tables import DispatchLease


async def get(session: AsyncSession, account_id: str, call_id: str) -> Call | None:
    return await session.scalar(select(Call).where(Call.id == call_id, Call.account_id == account_id))


async def get_any(session: AsyncSession, call_id: str) -> Call | None:
    """A call of any account: for the operator's reads only (``accounts.policy`` decides who that is)."""
    return await session.get(Call, call_id)


async def list_for_campaign(
    session: AsyncSession, account_id: str, campaign_id: str, offset: int, limit: int
) -> list[Call]:
    rows = await session.scalars(
        select(Call)
        .where(Call.campaign_id == campaign_id, Call.account_id == account_id)
        .order_by(Call.created_at, Call.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows)


async def live_for_account(
    session: AsyncSession, account_id: str, now: datetime, offset: int, limit: int
) -> list[tuple[DispatchLease, str]]:
    """The account's calls in progress on any worker, with their campaign's name, oldest first. A lease past its
    expiry belongs to a worker that stopped heartbeating (dead, or cut off): its call is not shown as live."""
    rows = await session.execute(
        select(DispatchLease, Campaign.name)
        .join(Campaign, Campaign.id == DispatchLease.campaign_id)
        .where(DispatchLease.account_id == account_id, DispatchLease.expires_at >= now)
        .order_by(DispatchLease.leased_at, DispatchLease.call_id)
        .offset(offset)
        .limit(limit)
    )
    return [(lease, str(name)) for lease, name in rows.all()]
