"""The audit log on both backends: append, verification, the append-only triggers, concurrent writers, and the
one-year cut that keeps the chain verifiable."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from config.settings import Settings
from control_api.audit import PersonalDataInAuditError, append, pseudonym, pseudonymize_phone, verify
from control_api.audit.retention import prune_expired
from control_api.audit.tables import AuditEntry
from control_api.storage.db import Database, create_database
from tests.fixtures.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[2]


async def _append_n(db: Database, n: int, **kw: object) -> None:
    async with db.sessions() as s:
        for i in range(n):
            await append(s, actor="key:k1", tenant_id="t1", action="test.event", details={"i": i}, **kw)  # type: ignore[arg-type]
        await s.commit()


async def tamper(db: Database, url: str, seq: int) -> None:
    """Edit one row the way someone with database access would: around the application and its triggers."""
    if db.dialect == "sqlite":
        path = make_url(url).database
        assert path
        con = sqlite3.connect(path)
        con.execute("UPDATE audit_retention_gate SET open = 1")
        con.execute("UPDATE audit_log SET outcome = 'failure' WHERE seq = ?", (seq,))
        con.execute("UPDATE audit_retention_gate SET open = 0")
        con.commit()
        con.close()
    else:
        u = make_url(url)
        con = await asyncpg.connect(host=u.host, port=u.port, user=u.username, database=u.database)
        async with con.transaction():
            await con.execute("SELECT set_config('closerr.audit_retention', 'on', true)")
            await con.execute("UPDATE audit_log SET outcome = 'failure' WHERE seq = $1", seq)
        await con.close()


async def test_append_chains_and_verifies(db: Database) -> None:
    await _append_n(db, 5)
    async with db.sessions() as s:
        result = await verify(s)
        rows = (await s.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars().all()
    assert result.ok and result.checked == 5
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert all(rows[i].prev_hash == rows[i - 1].entry_hash for i in range(1, 5))


async def test_tampered_row_fails_verification_at_that_row(db: Database, database_url: str) -> None:
    await _append_n(db, 6)
    await tamper(db, database_url, 4)
    async with db.sessions() as s:
        result = await verify(s)
    assert not result.ok
    assert result.first_broken_seq == 4
    assert result.checked == 3


async def test_application_cannot_update_or_delete_audit_rows(db: Database) -> None:
    await _append_n(db, 2)
    for stmt in (update(AuditEntry).values(outcome="failure"), delete(AuditEntry)):
        async with db.sessions() as s:
            with pytest.raises(DBAPIError, match="append-only"):
                await s.execute(stmt)
            await s.rollback()
    async with db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(AuditEntry)) == 2
        assert (await verify(s)).ok


async def test_truncate_refused_on_postgres(postgres_server: PostgresServer) -> None:
    # PostgreSQL only: SQLite has no TRUNCATE statement (its DELETE trigger covers "DELETE FROM audit_log").
    db = create_database(postgres_server.create_database("closerr_truncate"))
    try:
        await db.migrate()
        await _append_n(db, 1)
        async with db.sessions() as s:
            with pytest.raises(DBAPIError, match="append-only"):
                await s.execute(text("TRUNCATE audit_log"))
    finally:
        await db.dispose()


async def test_append_refuses_raw_phone_numbers_and_names(db: Database) -> None:
    async with db.sessions() as s:
        with pytest.raises(PersonalDataInAuditError):
            await append(s, actor="key:k1", tenant_id="t1", action="x", details={"to": "+919876543210"})
        with pytest.raises(PersonalDataInAuditError):
            await append(s, actor="key:k1", tenant_id="t1", action="x", details={"name": "Asha Rao"})
        with pytest.raises(ValueError, match="subject_ref"):
            await append(s, actor="key:k1", tenant_id="t1", action="x", subject_ref="9876543210")
        entry = await append(
            s,
            actor="key:k1",
            tenant_id="t1",
            action="x",
            subject_ref=pseudonymize_phone("9876543210"),
            details={"subject": pseudonymize_phone("9876543210")},
        )
        await s.commit()
    assert entry.seq == 1


async def test_rolled_back_action_leaves_no_entry_and_no_gap(db: Database) -> None:
    async with db.sessions() as s:
        await append(s, actor="key:k1", tenant_id="t1", action="doomed")
        await s.rollback()
    await _append_n(db, 1)
    async with db.sessions() as s:
        result = await verify(s)
        assert await s.scalar(select(func.max(AuditEntry.seq))) == 1
    assert result.ok


async def test_concurrent_sessions_serialise(db: Database) -> None:
    async def writer(k: int) -> None:
        for i in range(5):
            async with db.sessions() as s:
                await append(s, actor=f"task:{k}", tenant_id="t", action="test.concurrent", details={"i": i})
                await s.commit()

    await asyncio.gather(*(writer(k) for k in range(4)))
    async with db.sessions() as s:
        result = await verify(s)
    assert result.ok and result.checked == 20


async def test_concurrent_worker_processes_serialise(db: Database, database_url: str) -> None:
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.privacy.append_worker", database_url, str(w), "8", cwd=REPO
        )
        for w in range(3)
    ]
    codes = await asyncio.gather(*(p.wait() for p in procs))
    assert codes == [0, 0, 0]
    pseudonym.use_key(Settings().audit_hmac_key.get_secret_value())  # the workers' key: the environment's
    async with db.sessions() as s:
        result = await verify(s)
        actors = set((await s.execute(select(AuditEntry.actor))).scalars())
    assert result.ok and result.checked == 24
    assert actors == {"worker:0", "worker:1", "worker:2"}


async def test_retention_cut_keeps_chain_verifiable_and_detects_later_tampering(
    db: Database, database_url: str
) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    async with db.sessions() as s:
        for i in range(3):
            await append(s, actor="system", tenant_id="t", action="old", details={"i": i}, at=old)
        await s.commit()
    await _append_n(db, 3)
    async with db.sessions() as s:
        removed = await prune_expired(s, datetime.now(UTC) - timedelta(days=365))
        await s.commit()
    assert removed == 3
    async with db.sessions() as s:
        result = await verify(s)
        assert await s.scalar(select(func.min(AuditEntry.seq))) == 4
    assert result.ok and result.checked == 3
    # The gate closed again with the retention transaction.
    async with db.sessions() as s:
        with pytest.raises(DBAPIError, match="append-only"):
            await s.execute(delete(AuditEntry).where(AuditEntry.seq == 6))
    await tamper(db, database_url, 5)
    async with db.sessions() as s:
        assert (await verify(s)).first_broken_seq == 5


async def test_dispatch_entries_carry_check_results_and_pseudonym_only(db: Database) -> None:
    from control_api.audit import audit_dispatch

    async with db.sessions() as s:
        ok = await audit_dispatch(
            s, tenant_id="t", campaign_id="c", call_id="k1", phone="+919876543210", consent_ok=True, dnd_allowed=True
        )
        skip = await audit_dispatch(
            s,
            tenant_id="t",
            campaign_id="c",
            call_id=None,
            phone="09876543210",
            consent_ok=True,
            dnd_allowed=False,
            dnd_reason="suppressed",
        )
        await s.commit()
    async with db.sessions() as s:
        rows = {r.seq: r for r in (await s.execute(select(AuditEntry))).scalars()}
    assert rows[ok.seq].action == "call.dispatch" and rows[ok.seq].outcome == "success"
    assert rows[skip.seq].action == "call.skip" and rows[skip.seq].outcome == "denied"
    assert rows[ok.seq].subject_ref == rows[skip.seq].subject_ref == pseudonymize_phone("9876543210")
    assert '"dnd_reason":"suppressed"' in rows[skip.seq].details and "98765" not in rows[skip.seq].details
