"""Lead and upload queries, scoped to the owning account. The bulk writes of an upload are the writers'
(``writer_pg``, ``writer_sqlite``)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.leads.tables import Lead, LeadUpload


async def list_for_campaign(
    session: AsyncSession, account_id: str, campaign_id: str, after_id: int, limit: int, status: str | None
) -> list[Lead]:
    query = select(Lead).where(Lead.campaign_id == campaign_id, Lead.account_id == account_id, Lead.id > after_id)
    if status is not None:
        query = query.where(Lead.status == status)
    rows = await session.scalars(query.order_by(Lead.id).limit(limit))
    return list(rows)


async def get(session: AsyncSession, account_id: str, lead_id: int) -> Lead | None:
    lead = await session.get(Lead, lead_id)
    return lead if lead is not None and lead.account_id == account_id else None


async def delete_for_campaigns(session: AsyncSession, campaign_ids: list[str]) -> int:
    """Delete the leads of these campaigns (leads carry no foreign key, so no cascade does it)."""
    if not campaign_ids:
        return 0
    result = await session.execute(delete(Lead).where(Lead.campaign_id.in_(campaign_ids)))
    return int(getattr(result, "rowcount", 0) or 0)


async def get_upload(session: AsyncSession, account_id: str, upload_id: str) -> LeadUpload | None:
    return await session.scalar(
        select(LeadUpload).where(LeadUpload.id == upload_id, LeadUpload.account_id == account_id)
    )
