"""Grievance intake, status changes, the 90-day due date and the overdue list."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from control_api.audit import AuditContext, pseudonymize_phone
from control_api.audit.tables import AuditEntry
from control_api.errors import InvalidField, NotFound
from control_api.privacy import grievances as svc
from control_api.privacy.tables import Grievance
from control_api.storage.db import Database
from tests.privacy.seed import add_account


@pytest.fixture
async def ctx(db: Database) -> AuditContext:
    async with db.sessions() as s:
        account_id = await add_account(s)
        await s.commit()
    return AuditContext(actor="key:clr_g", tenant_id=account_id, request_id="r", client_ip="127.0.0.1")


async def test_intake_sets_due_date_and_stores_only_the_pseudonym(db: Database, ctx: AuditContext) -> None:
    async with db.sessions() as s:
        doc = await svc.file_grievance(
            s,
            ctx,
            svc.GrievanceIntake("Ravi", "ravi@example.com", "I was called after opting out", "98765 43210"),
            due_days=90,
        )
        await s.commit()
    created = datetime.fromisoformat(doc["created_at"])
    assert datetime.fromisoformat(doc["due_at"]) - created == timedelta(days=90)
    assert doc["status"] == "open" and doc["overdue"] is False
    assert doc["subject_ref"] == pseudonymize_phone("+919876543210")
    async with db.sessions() as s:
        row = await s.scalar(select(Grievance))
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "grievance.file"))
    assert row is not None and "9876543210" not in json.dumps([row.phone_ref, row.text, row.contact])
    assert entry is not None and entry.object_id == doc["id"] and "ravi" not in entry.details.lower()


async def test_status_flow_and_overdue_listing(db: Database, ctx: AuditContext) -> None:
    async with db.sessions() as s:
        a = await svc.file_grievance(s, ctx, svc.GrievanceIntake("A", "a@example.com", "one"), due_days=90)
        b = await svc.file_grievance(s, ctx, svc.GrievanceIntake("B", "b@example.com", "two"), due_days=90)
        c = await svc.file_grievance(s, ctx, svc.GrievanceIntake("C", "c@example.com", "three"), due_days=90)
        # a and c were filed long ago; c gets resolved, so only a is overdue.
        past = datetime.now(UTC) - timedelta(days=1)
        await s.execute(update(Grievance).where(Grievance.id.in_([a["id"], c["id"]])).values(due_at=past))
        await s.commit()
    async with db.sessions() as s:
        with pytest.raises(InvalidField) as err:
            await svc.update_grievance(s, ctx, c["id"], status="resolved", resolution=None)
        assert err.value.field == "resolution"
        with pytest.raises(InvalidField):
            await svc.update_grievance(s, ctx, c["id"], status="closed", resolution=None)
        moved = await svc.update_grievance(s, ctx, b["id"], status="in_progress", resolution=None)
        done = await svc.update_grievance(s, ctx, c["id"], status="resolved", resolution="number suppressed")
        await s.commit()
    assert moved["status"] == "in_progress" and done["resolved_at"] is not None
    async with db.sessions() as s:
        overdue = await svc.list_grievances(s, ctx.tenant_id or "", status=None, overdue=True, offset=0, limit=50)
        open_ = await svc.list_grievances(s, ctx.tenant_id or "", status="open", overdue=False, offset=0, limit=50)
        other = await svc.list_grievances(s, "someone-else", status=None, overdue=False, offset=0, limit=50)
        actions = list((await s.execute(select(AuditEntry.action).order_by(AuditEntry.seq))).scalars())
    assert [g["id"] for g in overdue] == [a["id"]] and overdue[0]["overdue"] is True
    assert [g["id"] for g in open_] == [a["id"]]
    assert other == []
    assert actions.count("grievance.update") == 2


async def test_other_tenants_grievance_is_not_found(db: Database, ctx: AuditContext) -> None:
    async with db.sessions() as s:
        g = await svc.file_grievance(s, ctx, svc.GrievanceIntake("A", "a@example.com", "x"), due_days=90)
        await s.commit()
    intruder = AuditContext(actor="key:x", tenant_id="other")
    async with db.sessions() as s:
        with pytest.raises(NotFound):
            await svc.update_grievance(s, intruder, g["id"], status="resolved", resolution="no")
