"""Grievance intake for the Grievance Officer (DPDP s.13): who, how to reach them, the number concerned, the
complaint; status open -> in progress -> resolved, due 90 days after intake; overdue ones listed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from control_api.audit import AuditContext, pseudonymize_phone
from control_api.errors import InvalidField, NotFound
from control_api.phones import to_e164
from control_api.privacy import repository as repo
from control_api.privacy.subjects import parse_subject_phone
from control_api.privacy.tables import GRIEVANCE_STATUSES, Grievance


@dataclass(frozen=True)
class GrievanceIntake:
    complainant_name: str
    contact: str
    text: str
    phone: str | None = None


def grievance_doc(g: Grievance, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    return {
        "id": g.id,
        "complainant_name": g.complainant_name,
        "contact": g.contact,
        "subject_ref": g.phone_ref,
        "text": g.text,
        "status": g.status,
        "resolution": g.resolution,
        "created_at": g.created_at.isoformat(),
        "due_at": g.due_at.isoformat(),
        "resolved_at": g.resolved_at.isoformat() if g.resolved_at else None,
        "overdue": g.status != "resolved" and g.due_at < now,
    }


async def file_grievance(
    session: AsyncSession, ctx: AuditContext, intake: GrievanceIntake, *, due_days: int
) -> dict[str, Any]:
    assert ctx.tenant_id is not None
    ref = pseudonymize_phone(to_e164(parse_subject_phone(intake.phone))) if intake.phone else None
    now = datetime.now(UTC)
    g = await repo.add_grievance(
        session,
        account_id=ctx.tenant_id,
        complainant_name=intake.complainant_name.strip(),
        contact=intake.contact.strip(),
        phone_ref=ref,
        text=intake.text,
        status="open",
        created_at=now,
        updated_at=now,
        due_at=now + timedelta(days=due_days),
    )
    await ctx.record(
        session,
        "grievance.file",
        object_type="grievance",
        object_id=g.id,
        subject_ref=ref,
        details={"due_at": g.due_at.isoformat()},
    )
    return grievance_doc(g, now)


async def update_grievance(
    session: AsyncSession,
    ctx: AuditContext,
    grievance_id: str,
    *,
    status: str | None,
    resolution: str | None,
) -> dict[str, Any]:
    assert ctx.tenant_id is not None
    if status is not None and status not in GRIEVANCE_STATUSES:
        raise InvalidField("status", f"status must be one of {', '.join(GRIEVANCE_STATUSES)}")
    g = await repo.get_grievance(session, ctx.tenant_id, grievance_id)
    if g is None:
        raise NotFound("grievance")
    if status == "resolved" and not (resolution or g.resolution):
        raise InvalidField("resolution", "a resolved grievance needs a resolution")
    before = g.status
    now = datetime.now(UTC)
    if status is not None:
        g.status = status
        g.resolved_at = now if status == "resolved" else None
    if resolution is not None:
        g.resolution = resolution
    g.updated_at = now
    await session.flush()
    await ctx.record(
        session,
        "grievance.update",
        object_type="grievance",
        object_id=g.id,
        subject_ref=g.phone_ref,
        details={"from": before, "to": g.status, "resolution_set": resolution is not None},
    )
    return grievance_doc(g, now)


async def list_grievances(
    session: AsyncSession, account_id: str, *, status: str | None, overdue: bool, offset: int, limit: int
) -> list[dict[str, Any]]:
    if status is not None and status not in GRIEVANCE_STATUSES:
        raise InvalidField("status", f"status must be one of {', '.join(GRIEVANCE_STATUSES)}")
    now = datetime.now(UTC)
    rows = await repo.list_grievances(
        session, account_id, status=status, overdue_at=now if overdue else None, offset=offset, limit=limit
    )
    return [grievance_doc(g, now) for g in rows]
