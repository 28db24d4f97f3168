"""The dispatcher's queries. Lead picking uses ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL), so workers
never wait on each other's rows; on SQLite the clause is dropped and the account lock (the database write lock)
already makes the whole claim exclusive."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts.tables import Account
from control_api.audit.tables import AuditEntry
from control_api.calls.tables import Call
from control_api.campaigns.tables import Campaign
from control_api.dispatch.dispositions import DIALING, OPEN_STATUSES, PENDING, RETRY
from control_api.dispatch.tables import CampaignDispatch, DispatchLease
from control_api.leads.tables import Lead


async def dialing_account(session: AsyncSession, account_id: str) -> tuple[bool, str | None]:
    """Whether the account is suspended, and the LLM profile an operator assigned it."""
    row = (
        await session.execute(select(Account.suspended_at, Account.llm_profile).where(Account.id == account_id))
    ).one_or_none()
    if row is None:
        return False, None
    return row.suspended_at is not None, row.llm_profile


async def campaigns_in(session: AsyncSession, states: tuple[str, ...]) -> list[Campaign]:
    return list((await session.execute(select(Campaign).where(Campaign.state.in_(states)))).scalars())


async def lease_count(session: AsyncSession, *, campaign_id: str | None = None, account_id: str | None = None) -> int:
    q = select(func.count()).select_from(DispatchLease)
    if campaign_id is not None:
        q = q.where(DispatchLease.campaign_id == campaign_id)
    if account_id is not None:
        q = q.where(DispatchLease.account_id == account_id)
    return int(await session.scalar(q) or 0)


def _due(campaign_id: str, now: datetime):  # type: ignore[no-untyped-def]
    return (
        Lead.campaign_id == campaign_id,
        Lead.status.in_((PENDING, RETRY)),
        or_(Lead.next_attempt_at.is_(None), Lead.next_attempt_at <= now),
    )


async def due_leads(session: AsyncSession, campaign_id: str, now: datetime, limit: int) -> list[Lead]:
    q = (
        select(Lead)
        .where(*_due(campaign_id, now))
        .order_by(Lead.next_attempt_at.is_not(None), Lead.next_attempt_at, Lead.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(q)).scalars())


async def due_count(session: AsyncSession, campaign_id: str, now: datetime) -> int:
    return int(await session.scalar(select(func.count()).select_from(Lead).where(*_due(campaign_id, now))) or 0)


async def next_open_lead(session: AsyncSession, campaign_id: str) -> tuple[int, datetime | None] | None:
    """The phone and ``next_attempt_at`` of the open lead due first (one due now sorts first), or None."""
    q = (
        select(Lead.phone, Lead.next_attempt_at)
        .where(Lead.campaign_id == campaign_id, Lead.status.in_((PENDING, RETRY)))
        .order_by(Lead.next_attempt_at.is_not(None), Lead.next_attempt_at)
        .limit(1)
    )
    row = (await session.execute(q)).first()
    return None if row is None else (int(row[0]), row[1])


async def open_lead_count(session: AsyncSession, campaign_id: str) -> int:
    q = select(func.count()).select_from(Lead).where(Lead.campaign_id == campaign_id, Lead.status.in_(OPEN_STATUSES))
    return int(await session.scalar(q) or 0)


async def lead_status_counts(session: AsyncSession, campaign_id: str) -> dict[str, int]:
    rows = await session.execute(
        select(Lead.status, func.count()).where(Lead.campaign_id == campaign_id).group_by(Lead.status)
    )
    return {str(status): int(n) for status, n in rows.all()}


async def lease_for_update(session: AsyncSession, lead_id: int) -> DispatchLease | None:
    q = select(DispatchLease).where(DispatchLease.lead_id == lead_id).with_for_update()
    return (await session.execute(q)).scalar_one_or_none()


async def expired_leases(session: AsyncSession, now: datetime, limit: int) -> list[tuple[int, str, str]]:
    q = (
        select(DispatchLease.lead_id, DispatchLease.call_id, DispatchLease.account_id)
        .where(DispatchLease.expires_at < now)
        .limit(limit)
    )
    return [(int(a), str(b), str(c)) for a, b, c in (await session.execute(q)).all()]


async def heartbeat(
    session: AsyncSession, worker_id: str, call_ids: list[str], now: datetime, ttl_s: float
) -> set[str]:
    """Extend this worker's leases; answers the call ids it still holds (a missing one was reaped)."""
    await session.execute(
        update(DispatchLease)
        .where(DispatchLease.worker_id == worker_id, DispatchLease.call_id.in_(call_ids))
        .values(heartbeat_at=now, expires_at=now + timedelta(seconds=ttl_s))
    )
    held = await session.execute(
        select(DispatchLease.call_id).where(DispatchLease.worker_id == worker_id, DispatchLease.call_id.in_(call_ids))
    )
    return {str(call_id) for call_id in held.scalars()}


async def drop_lease(session: AsyncSession, lead_id: int) -> None:
    await session.execute(delete(DispatchLease).where(DispatchLease.lead_id == lead_id))


async def errored_attempts(session: AsyncSession, lead_id: int) -> int:
    q = select(func.count()).select_from(Call).where(Call.lead_id == lead_id, Call.status == "error")
    return int(await session.scalar(q) or 0)


async def dispatch_row(session: AsyncSession, campaign_id: str) -> CampaignDispatch:
    row = await session.get(CampaignDispatch, campaign_id)
    if row is None:
        row = CampaignDispatch(campaign_id=campaign_id, completion_notified=False)
        session.add(row)
        await session.flush()
    return row


async def started_by(session: AsyncSession, campaign_id: str) -> str | None:
    """The actor of the client action that started the campaign, from the audit log."""
    rows = await session.execute(
        select(AuditEntry.actor, AuditEntry.details)
        .where(
            AuditEntry.object_type == "campaign",
            AuditEntry.object_id == campaign_id,
            AuditEntry.action == "campaign.state",
        )
        .order_by(AuditEntry.seq)
    )
    for actor, details in rows.all():
        try:
            if json.loads(details or "{}").get("action") == "start":
                return str(actor)
        except (ValueError, AttributeError):
            continue
    return None


__all__ = ["DIALING"]
