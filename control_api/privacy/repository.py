"""Every query of the privacy area (rights requests, purges, grievances, job state) in one place."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, Text, and_, cast, delete, func, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.calls.tables import Call
from control_api.campaigns.tables import Campaign
from control_api.dnd.tables import DndEntry
from control_api.leads.tables import Lead, LeadUpload
from control_api.privacy.tables import AccountPrivacy, ErasedSubject, Grievance, PrivacyJob
from control_api.storage.db import Base

# Content columns of a call: what the first clock purges and the metadata clock never keeps.
# SQL NULL, not JSON null: a JSON column given Python None stores the text 'null', which "IS NULL" misses.
CALL_CONTENT = {"transcript": null(), "turns": null(), "slots": null(), "record": null(), "error": null()}


# --- subjects -------------------------------------------------------------------------------------------------


async def leads_by_phone(session: AsyncSession, account_id: str, phone: int) -> list[Lead]:
    rows = await session.scalars(
        select(Lead).where(Lead.account_id == account_id, Lead.phone == phone).order_by(Lead.id)
    )
    return list(rows)


async def calls_for_leads(session: AsyncSession, account_id: str, lead_ids: Sequence[int]) -> list[Call]:
    if not lead_ids:
        return []
    rows = await session.scalars(
        select(Call).where(Call.account_id == account_id, Call.lead_id.in_(lead_ids)).order_by(Call.created_at, Call.id)
    )
    return list(rows)


async def dnd_for_phone(session: AsyncSession, account_id: str, phone: int) -> list[DndEntry]:
    rows = await session.scalars(
        select(DndEntry).where(DndEntry.phone == phone, DndEntry.scope.in_(("registry", account_id)))
    )
    return list(rows)


async def correct_leads(session: AsyncSession, lead_ids: Sequence[int], values: dict[str, Any]) -> int:
    if not lead_ids or not values:
        return 0
    result = await session.execute(update(Lead).where(Lead.id.in_(lead_ids)).values(**values))
    return int(getattr(result, "rowcount", 0) or 0)


def _dependent_tables() -> list[tuple[Table, str]]:
    """Tables of other areas holding per-call or per-lead copies (webhook payloads and the like): any table with
    a ``call_id`` or ``lead_id`` column whose name says it stores payloads. Erasure and purges delete their rows
    so a copy never outlives the original."""
    out: list[tuple[Table, str]] = []
    for name, table in Base.metadata.tables.items():
        if name in ("calls", "leads") or not any(w in name for w in ("webhook", "payload", "recording")):
            continue
        for col in ("call_id", "lead_id"):
            if col in table.c:
                out.append((table, col))
    return out


async def delete_dependents(
    session: AsyncSession, *, call_ids: Sequence[str] = (), lead_ids: Sequence[int] = ()
) -> int:
    total = 0
    for table, col in _dependent_tables():
        ids: Sequence[Any] = call_ids if col == "call_id" else lead_ids
        if ids:
            result = await session.execute(delete(table).where(table.c[col].in_(list(ids))))
            total += int(getattr(result, "rowcount", 0) or 0)
    return total


async def delete_calls(session: AsyncSession, call_ids: Sequence[str]) -> int:
    if not call_ids:
        return 0
    result = await session.execute(delete(Call).where(Call.id.in_(list(call_ids))))
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_leads(session: AsyncSession, lead_ids: Sequence[int]) -> int:
    if not lead_ids:
        return 0
    result = await session.execute(delete(Lead).where(Lead.id.in_(list(lead_ids))))
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_own_suppression(session: AsyncSession, account_id: str, phone: int) -> int:
    """The client's own list entry holds the raw number; erasure replaces it with ``ErasedSubject``'s pseudonym.
    The national registry simulation (scope ``registry``) is the person's own registration with TRAI, not the
    client's data, and stays."""
    result = await session.execute(delete(DndEntry).where(DndEntry.phone == phone, DndEntry.scope == account_id))
    return int(getattr(result, "rowcount", 0) or 0)


async def record_erased(
    session: AsyncSession, account_id: str, phone_ref: str, when: datetime, *, suppressed: bool
) -> None:
    existing = await session.get(ErasedSubject, (account_id, phone_ref))
    if existing is None:
        session.add(ErasedSubject(account_id=account_id, phone_ref=phone_ref, erased_at=when, suppressed=suppressed))
    else:
        existing.erased_at = when
        existing.suppressed = existing.suppressed or suppressed


async def erased_and_suppressed(session: AsyncSession, account_id: str, phone_ref: str) -> bool:
    row = await session.get(ErasedSubject, (account_id, phone_ref))
    return row is not None and row.suppressed


async def is_erased(session: AsyncSession, account_id: str, phone_ref: str) -> bool:
    return await session.get(ErasedSubject, (account_id, phone_ref)) is not None


async def redact_grievances(session: AsyncSession, account_id: str, phone_ref: str) -> int:
    result = await session.execute(
        update(Grievance)
        .where(Grievance.account_id == account_id, Grievance.phone_ref == phone_ref)
        .values(complainant_name="[erased]", contact="[erased]", text="[erased on the data principal's request]")
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- campaigns ------------------------------------------------------------------------------------------------


async def get_campaign(session: AsyncSession, account_id: str, campaign_id: str) -> Campaign | None:
    return await session.scalar(select(Campaign).where(Campaign.id == campaign_id, Campaign.account_id == account_id))


async def campaign_call_ids(session: AsyncSession, campaign_id: str) -> list[str]:
    return list(await session.scalars(select(Call.id).where(Call.campaign_id == campaign_id)))


async def campaign_lead_ids(session: AsyncSession, campaign_id: str) -> list[int]:
    return list(await session.scalars(select(Lead.id).where(Lead.campaign_id == campaign_id)))


async def delete_campaign_uploads(session: AsyncSession, campaign_id: str) -> int:
    result = await session.execute(delete(LeadUpload).where(LeadUpload.campaign_id == campaign_id))
    return int(getattr(result, "rowcount", 0) or 0)


# --- retention ------------------------------------------------------------------------------------------------


async def retention_inputs(session: AsyncSession) -> list[tuple[str, str, int, int | None]]:
    """(campaign id, account id, campaign retention days, account retention days) of every campaign."""
    rows = await session.execute(
        select(Campaign.id, Campaign.account_id, Campaign.retention_days, AccountPrivacy.content_retention_days)
        .select_from(Campaign)
        .outerjoin(AccountPrivacy, AccountPrivacy.account_id == Campaign.account_id)
    )
    return [(r[0], r[1], int(r[2]), r[3]) for r in rows]


def _json_present(col: Any) -> Any:
    return and_(col.is_not(None), cast(col, Text) != "null")


def _has_content() -> Any:
    return or_(
        _json_present(Call.transcript),
        _json_present(Call.turns),
        _json_present(Call.slots),
        _json_present(Call.record),
        Call.error.is_not(None),
    )


async def calls_with_expired_content(
    session: AsyncSession, campaign_id: str, before: datetime, limit: int
) -> list[str]:
    rows = await session.scalars(
        select(Call.id)
        .where(Call.campaign_id == campaign_id, Call.created_at < before, _has_content())
        .order_by(Call.created_at)
        .limit(limit)
    )
    return list(rows)


async def count_calls_with_expired_content(session: AsyncSession, campaign_id: str, before: datetime) -> int:
    q = select(func.count()).select_from(Call).where(Call.campaign_id == campaign_id, Call.created_at < before)
    return int(await session.scalar(q.where(_has_content())) or 0)


async def count_calls_past_metadata_clock(session: AsyncSession, before: datetime) -> int:
    return int(await session.scalar(select(func.count()).select_from(Call).where(Call.created_at < before)) or 0)


async def count_leads_past_metadata_clock(session: AsyncSession, before: datetime) -> int:
    recent_call = select(Call.id).where(and_(Call.lead_id == Lead.id, Call.created_at >= before)).exists()
    q = select(func.count()).select_from(Lead).where(Lead.created_at < before, ~recent_call)
    return int(await session.scalar(q) or 0)


async def strip_call_content(session: AsyncSession, call_ids: Sequence[str]) -> int:
    if not call_ids:
        return 0
    result = await session.execute(update(Call).where(Call.id.in_(list(call_ids))).values(**CALL_CONTENT))
    return int(getattr(result, "rowcount", 0) or 0)


async def calls_past_metadata_clock(session: AsyncSession, before: datetime, limit: int) -> list[str]:
    rows = await session.scalars(select(Call.id).where(Call.created_at < before).order_by(Call.created_at).limit(limit))
    return list(rows)


async def leads_past_metadata_clock(session: AsyncSession, before: datetime, limit: int) -> list[int]:
    """Leads created before the cutoff with no call left that is younger (their call metadata went first)."""
    recent_call = select(Call.id).where(and_(Call.lead_id == Lead.id, Call.created_at >= before)).exists()
    rows = await session.scalars(
        select(Lead.id).where(Lead.created_at < before, ~recent_call).order_by(Lead.id).limit(limit)
    )
    return list(rows)


async def call_times(session: AsyncSession, call_ids: Sequence[str]) -> dict[str, tuple[datetime, str]]:
    """created_at and campaign of each existing call (for judging audio files)."""
    if not call_ids:
        return {}
    rows = await session.execute(select(Call.id, Call.created_at, Call.campaign_id).where(Call.id.in_(list(call_ids))))
    return {r[0]: (r[1], r[2]) for r in rows}


async def grievances_past_metadata_clock(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(
        delete(Grievance).where(Grievance.status == "resolved", Grievance.resolved_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- grievances -----------------------------------------------------------------------------------------------


async def add_grievance(session: AsyncSession, **values: Any) -> Grievance:
    row = Grievance(id=str(uuid.uuid4()), **values)
    session.add(row)
    await session.flush()
    return row


async def get_grievance(session: AsyncSession, account_id: str, grievance_id: str) -> Grievance | None:
    return await session.scalar(
        select(Grievance).where(Grievance.id == grievance_id, Grievance.account_id == account_id)
    )


async def list_grievances(
    session: AsyncSession,
    account_id: str,
    *,
    status: str | None,
    overdue_at: datetime | None,
    offset: int,
    limit: int,
) -> list[Grievance]:
    q = select(Grievance).where(Grievance.account_id == account_id)
    if status is not None:
        q = q.where(Grievance.status == status)
    if overdue_at is not None:
        q = q.where(Grievance.status != "resolved", Grievance.due_at < overdue_at)
    rows = await session.scalars(q.order_by(Grievance.due_at, Grievance.id).offset(offset).limit(limit))
    return list(rows)


async def grievances_for_subject(session: AsyncSession, account_id: str, phone_ref: str) -> list[Grievance]:
    rows = await session.scalars(
        select(Grievance).where(Grievance.account_id == account_id, Grievance.phone_ref == phone_ref)
    )
    return list(rows)


# --- account privacy settings ---------------------------------------------------------------------------------


async def get_account_privacy(session: AsyncSession, account_id: str) -> AccountPrivacy | None:
    return await session.get(AccountPrivacy, account_id)


async def upsert_account_privacy(session: AsyncSession, account_id: str, **values: Any) -> AccountPrivacy:
    row = await session.get(AccountPrivacy, account_id)
    if row is None:
        row = AccountPrivacy(account_id=account_id, **values)
        session.add(row)
    else:
        for k, v in values.items():
            setattr(row, k, v)
    await session.flush()
    return row


# --- job state ------------------------------------------------------------------------------------------------


async def claim_job(
    session: AsyncSession, name: str, owner: str, now: datetime, lease_until: datetime, first_run: datetime
) -> PrivacyJob | None:
    """Take the job's lease if it is due and nobody else holds a live lease; None otherwise."""
    job = await session.get(PrivacyJob, name, with_for_update=True)
    if job is None:
        job = PrivacyJob(name=name, next_run_at=first_run, runs=0)
        session.add(job)
        await session.flush()
    if job.next_run_at > now:
        return None
    if job.lease_until is not None and job.lease_until > now and job.lease_owner != owner:
        return None
    job.lease_owner = owner
    job.lease_until = lease_until
    job.last_started_at = now
    await session.flush()
    return job


async def get_job(session: AsyncSession, name: str) -> PrivacyJob | None:
    return await session.get(PrivacyJob, name)


async def count_rows(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)
