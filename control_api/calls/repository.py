"""Call queries, scoped to the owning account."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.calls.tables import Call


async def get(session: AsyncSession, account_id: str, call_id: str) -> Call | None:
    return await session.scalar(select(Call).where(Call.id == call_id, Call.account_id == account_id))


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
