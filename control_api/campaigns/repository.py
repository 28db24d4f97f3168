"""Campaign queries; every read is scoped to the owning account (another tenant's campaign is 'not found')."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.campaigns.tables import Campaign


async def get(session: AsyncSession, account_id: str, campaign_id: str, *, for_update: bool = False) -> Campaign | None:
    query = select(Campaign).where(Campaign.id == campaign_id, Campaign.account_id == account_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def list_for_account(
    session: AsyncSession, account_id: str, offset: int, limit: int, state: str | None = None
) -> list[Campaign]:
    query = select(Campaign).where(Campaign.account_id == account_id)
    if state is not None:
        query = query.where(Campaign.state == state)
    rows = await session.scalars(query.order_by(Campaign.created_at, Campaign.id).offset(offset).limit(limit))
    return list(rows)


async def started_with_caller_ids(session: AsyncSession) -> list[Campaign]:
    """Started (scheduled or running) campaigns with a caller ID, newest first: inbound calls to that number."""
    query = select(Campaign).where(Campaign.state.in_(("scheduled", "running")), Campaign.caller_id.is_not(None))
    return list(await session.scalars(query.order_by(Campaign.created_at.desc())))
