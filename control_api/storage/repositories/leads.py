"""Lead queries and the two bulk upload writers (one per backend), chosen by ``make_lead_writer``.

Both keep one upload all-or-nothing: every row is written inside the caller's transaction, and nothing is
committed unless the whole file was read and checked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.storage.tables import Lead, LeadUpload

# line, phone (E.164 digits), name, metadata JSON, consent source, consent time, consent purpose
StagedRow = tuple[int, int, str | None, str | None, str | None, Any, str | None]
Check = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class UploadContext:
    account_id: str
    campaign_id: str
    upload_id: str
    category: int  # the campaign's TRAI category, for the DND scrub
    attested_by: str
    attestation: tuple[str, datetime, str] | None  # (source, at, purpose) covering rows without their own
    now: datetime


class LeadWriter(Protocol):
    def stage_time(self, value: datetime) -> Any: ...

    async def start(self) -> None: ...

    async def add(self, rows: list[StagedRow]) -> None:
        """Takes one batch; the next ``add`` may start before this one ends (the caller keeps a few in flight),
        and the writer keeps them in the order they were called."""
        ...

    async def finish(self, upload: LeadUpload, check: Check) -> tuple[int, list[tuple[int, str]]]:
        """Writes the upload row and the leads, calling ``check`` (which may raise) once the write lock is held;
        answers (accepted, [(line, reason)] of the rows refused here)."""
        ...

    async def drop(self) -> None: ...


def make_lead_writer(session: AsyncSession, ctx: UploadContext) -> LeadWriter:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        from control_api.storage.repositories.lead_upload_pg import PgLeadWriter

        return PgLeadWriter(session, ctx)
    from control_api.storage.repositories.lead_upload_sqlite import SqliteLeadWriter

    return SqliteLeadWriter(session, ctx)


async def list_for_campaign(
    session: AsyncSession, account_id: str, campaign_id: str, after_id: int, limit: int, status: str | None
) -> list[Lead]:
    query = select(Lead).where(Lead.campaign_id == campaign_id, Lead.account_id == account_id, Lead.id > after_id)
    if status is not None:
        query = query.where(Lead.status == status)
    rows = await session.scalars(query.order_by(Lead.id).limit(limit))
    return list(rows)


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
