"""Rights of the data principal at the service layer, on SQLite and PostgreSQL: access, correction, erasure."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from config.settings import Settings
from control_api.audit import AuditContext, pseudonymize_phone, verify
from control_api.audit.tables import AuditEntry
from control_api.calls.tables import Call
from control_api.dnd.tables import DndEntry
from control_api.errors import InvalidField, NotFound
from control_api.leads.tables import Lead
from control_api.privacy import subjects
from control_api.privacy.grievances import GrievanceIntake, file_grievance
from control_api.privacy.repository import is_erased
from control_api.privacy.storage_hygiene import flush_deleted_pages
from control_api.storage.db import Database
from tests.privacy.conftest import files_under, find_identifiers, pg_dump
from tests.privacy.seed import OTHER_NAME, OTHER_PHONE, SUBJECT_NAME, SUBJECT_PHONE, Seeded, seed_subject


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir(exist_ok=True)
    return d


@pytest.fixture
async def seeded(db: Database, data_dir: Path) -> Seeded:
    async with db.sessions() as s:
        out = await seed_subject(s, data_dir)
        await s.commit()
    return out


def ctx(seeded: Seeded) -> AuditContext:
    return AuditContext(actor="key:clr_test", tenant_id=seeded.account_id, request_id="req-1", client_ip="10.0.0.1")


async def test_access_returns_everything_about_the_number(db: Database, seeded: Seeded, data_dir: Path) -> None:
    async with db.sessions() as s:
        await file_grievance(
            s,
            ctx(seeded),
            GrievanceIntake("A. R.", "privacy-asks@example.com", "why was I called?", "+91 98765 43210"),
            due_days=90,
        )
        await s.commit()
    async with db.sessions() as s:
        doc = await subjects.access(s, ctx(seeded), "09876543210", data_dir)
        await s.commit()
    assert doc["phone"] == "+919876543210"
    assert {lead["id"] for lead in doc["leads"]} == set(seeded.subject_lead_ids)
    assert all(lead["name"] == SUBJECT_NAME and lead["consent"]["source"] == "web form" for lead in doc["leads"])
    assert {c["id"] for c in doc["calls"]} == set(seeded.subject_call_ids)
    assert all(c["transcript"] and c["slots"]["name"] == SUBJECT_NAME for c in doc["calls"])
    assert all(c["audio_files"] == [f"{c['id']}.ogg"] for c in doc["calls"])  # the engine's recordings
    assert [d["source"] for d in doc["dnd_entries"]] == ["data_principal_request"]
    assert len(doc["grievances"]) == 1
    assert [e["action"] for e in doc["audit_entries"]] == ["grievance.file"]
    # Nothing of the other lead leaks into this subject's document.
    assert OTHER_NAME not in json.dumps(doc)
    async with db.sessions() as s:
        last = await s.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    assert last is not None and last.action == "subject.access"
    assert last.subject_ref == pseudonymize_phone("+919876543210")
    assert last.request_id == "req-1" and last.client_ip == "10.0.0.1" and last.actor == "key:clr_test"


async def test_access_is_tenant_scoped(db: Database, seeded: Seeded, data_dir: Path) -> None:
    other_tenant = AuditContext(actor="key:other", tenant_id="another-account")
    async with db.sessions() as s:
        doc = await subjects.access(s, other_tenant, "+919876543210", data_dir)
    assert doc["leads"] == [] and doc["calls"] == []


async def test_invalid_phone_names_the_field(db: Database, seeded: Seeded, data_dir: Path) -> None:
    async with db.sessions() as s:
        with pytest.raises(InvalidField) as err:
            await subjects.access(s, ctx(seeded), "12ab", data_dir)
    assert err.value.field == "phone"


async def test_correction_changes_name_and_metadata_and_is_audited(db: Database, seeded: Seeded) -> None:
    fix = subjects.Correction(name="Asha R.", metadata={"city": "Mumbai"}, fields_set={"name", "metadata"})
    async with db.sessions() as s:
        out = await subjects.correct(s, ctx(seeded), "+919876543210", fix)
        await s.commit()
    assert {lead["name"] for lead in out["leads"]} == {"Asha R."}
    async with db.sessions() as s:
        names = set((await s.execute(select(Lead.name).where(Lead.phone == SUBJECT_PHONE))).scalars())
        others = set((await s.execute(select(Lead.name).where(Lead.phone == OTHER_PHONE))).scalars())
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "subject.correct"))
    assert names == {"Asha R."} and others == {OTHER_NAME}
    assert entry is not None and json.loads(entry.details) == {"fields": ["metadata", "name"], "leads": 2}


async def test_correction_of_unknown_number_is_404(db: Database, seeded: Seeded) -> None:
    async with db.sessions() as s:
        with pytest.raises(NotFound):
            await subjects.correct(s, ctx(seeded), "+919812345678", subjects.Correction(name="x", fields_set={"name"}))


async def test_erasure_leaves_no_trace_in_database_files_or_logs(
    db: Database,
    seeded: Seeded,
    data_dir: Path,
    database_url: str,
    backend: str,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    caplog.set_level(logging.DEBUG)
    # The subject's call recordings (the engine's Ogg files) carry the name: the scan below would see them.
    assert find_identifiers(files_under(data_dir / "audio"), SUBJECT_PHONE, SUBJECT_NAME)
    async with db.sessions() as s:
        report = await subjects.erase(s, ctx(seeded), "+91 98765 43210", data_dir)
        await s.commit()
    await flush_deleted_pages(db)
    assert report.counts() == {
        "leads": 2,
        "calls": 2,
        "copies": 0,
        "suppression_entries": 1,
        "grievances_redacted": 0,
        "audio_files": 2,
    }
    async with db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Lead).where(Lead.phone == SUBJECT_PHONE)) == 0
        assert await s.scalar(select(func.count()).select_from(Call).where(Call.id.in_(seeded.subject_call_ids))) == 0
        assert await s.scalar(select(func.count()).select_from(DndEntry)) == 0
        # The other lead is untouched, the number stays blocked via its pseudonym, the chain is intact.
        assert await s.scalar(select(func.count()).select_from(Lead).where(Lead.phone == OTHER_PHONE)) == 2
        assert await is_erased(s, seeded.account_id, pseudonymize_phone("+919876543210"))
        assert (await verify(s)).ok
    await db.dispose()  # closes pooled connections so the files on disk are final

    blobs = files_under(data_dir)
    if backend == "postgresql":
        blobs["pg_dump"] = pg_dump(request.getfixturevalue("postgres_server"), database_url)
    blobs["captured logs"] = caplog.text.encode()
    assert not find_identifiers(blobs, SUBJECT_PHONE, SUBJECT_NAME)
    # The same scan finds the lead that was not erased: it is not blind.
    assert find_identifiers(blobs, OTHER_PHONE, OTHER_NAME)
    assert sorted(p.name for p in (data_dir / "audio").iterdir()) == sorted(
        f"{cid}.wav" for cid in seeded.other_call_ids
    )


async def test_erasure_is_audited_with_counts_and_pseudonym_only(db: Database, seeded: Seeded, data_dir: Path) -> None:
    async with db.sessions() as s:
        await subjects.erase(s, ctx(seeded), "+919876543210", data_dir)
        await s.commit()
    async with db.sessions() as s:
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "subject.erase"))
    assert entry is not None
    assert entry.subject_ref == pseudonymize_phone("9876543210")
    assert json.loads(entry.details)["calls"] == 2
    assert "9876543210" not in entry.details and SUBJECT_NAME not in entry.details


def test_settings_key_comes_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOSERR_AUDIT_HMAC_KEY", "from-the-env")
    assert Settings().audit_hmac_key.get_secret_value() == "from-the-env"
    assert "from-the-env" not in repr(Settings())


async def test_erasure_removes_webhook_payload_copies(db: Database, seeded: Seeded, data_dir: Path) -> None:
    # Another area's table of webhook payloads (the dispatcher's, once it lands): found by name and call_id column.
    from sqlalchemy import JSON, Column, Integer, String, Table, insert

    from control_api.storage.db import Base

    table = Table(
        "webhook_payload_copies",
        Base.metadata,
        Column("id", Integer, primary_key=True),
        Column("call_id", String(36)),
        Column("body", JSON),
    )
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(table.create)
            for cid in seeded.subject_call_ids + seeded.other_call_ids:
                await conn.execute(insert(table).values(call_id=cid, body={"lead_name": "copy"}))
        async with db.sessions() as s:
            report = await subjects.erase(s, ctx(seeded), "+919876543210", data_dir)
            await s.commit()
        assert report.copies == 2
        async with db.sessions() as s:
            left = set((await s.execute(select(table.c.call_id))).scalars())
        assert left == set(seeded.other_call_ids)
    finally:
        Base.metadata.remove(table)


async def test_withdrawal_outlives_erasure_without_keeping_the_number(
    db: Database, seeded: Seeded, data_dir: Path
) -> None:
    from control_api.dnd.service import check

    async with db.sessions() as s:
        before = await check(s, SUBJECT_PHONE, 1, account_id=seeded.account_id)
        await subjects.erase(s, ctx(seeded), "+919876543210", data_dir)
        await s.commit()
    assert not before.allowed  # the seeded suppression entry
    async with db.sessions() as s:
        after = await check(s, SUBJECT_PHONE, 1, account_id=seeded.account_id)
        other = await check(s, OTHER_PHONE, 1, account_id=seeded.account_id)
        elsewhere = await check(s, SUBJECT_PHONE, 1, account_id="another-account")
        assert await s.scalar(select(func.count()).select_from(DndEntry)) == 0
    assert not after.allowed and after.reason == "suppressed"
    assert other.allowed and elsewhere.allowed


async def test_erasure_without_prior_opt_out_does_not_block_a_fresh_consent(
    db: Database, seeded: Seeded, data_dir: Path
) -> None:
    from control_api.dnd.service import check

    async with db.sessions() as s:
        await s.execute(delete(DndEntry))
        await subjects.erase(s, ctx(seeded), "+919876543210", data_dir)
        await s.commit()
    async with db.sessions() as s:
        assert (await check(s, SUBJECT_PHONE, 1, account_id=seeded.account_id)).allowed
