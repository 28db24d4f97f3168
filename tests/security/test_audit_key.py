"""The audit chain is keyed: someone who can write the database but does not hold CLOSERR_AUDIT_HMAC_KEY cannot
edit an entry and re-hash the chain behind it without ``audit verify`` noticing; the servers refuse to run on the
development key outside ``--dev``. On SQLite and the suite's PostgreSQL server, and through the real CLI."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.engine import make_url

from control_api.audit import append, verify
from control_api.audit.chain import GENESIS_HASH, ChainFields, StoredEntry, verify_entries
from control_api.audit.keys import use_key
from control_api.audit.log import stored_entry
from control_api.audit.retention import prune_expired
from control_api.audit.tables import AuditChainHead, AuditEntry
from control_api.storage.db import Database, alembic_config, create_database

REPO = Path(__file__).resolve().parents[2]
KEY = "k3yed-audit-chain-secret-0123456789abcdef"
OTHER_KEY = "another-deployment-secret-0123456789abcdef"


@pytest.fixture(autouse=True)
def audit_key() -> Iterator[None]:
    use_key(KEY)
    yield
    use_key(os.environ["CLOSERR_AUDIT_HMAC_KEY"])


async def _append_n(db: Database, n: int, *, at: datetime | None = None) -> None:
    for i in range(n):
        async with db.sessions() as s, s.begin():
            await append(
                s, actor="key:test", tenant_id="t1", action="campaign.state", object_id=f"c{i}", at=at, details={}
            )


def _plain_sha256(fields: ChainFields) -> str:
    # What an attacker who reads the code but not the key computes.
    return hashlib.sha256(fields.canonical()).hexdigest()


async def _rows(db: Database) -> list[AuditEntry]:
    async with db.sessions() as s:
        return list((await s.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars().all())


async def _rehash_from(db: Database, url: str, seq: int) -> None:
    """Edit entry ``seq`` and recompute its plain SHA-256 and every following link and the chain head, around the
    application and its append-only triggers, as someone with database access but without the key would."""
    rows = await _rows(db)
    prev = next((r.entry_hash for r in rows if r.seq == seq - 1), GENESIS_HASH)
    updates: list[tuple[int, str, str, str]] = []  # seq, outcome, prev_hash, entry_hash
    for row in rows:
        if row.seq < seq:
            continue
        fields = stored_entry(row).fields
        outcome = "failure" if row.seq == seq else row.outcome
        fields = replace(fields, outcome=outcome, prev_hash=prev)
        prev = _plain_sha256(fields)
        updates.append((row.seq, outcome, fields.prev_hash, prev))
    if db.dialect == "sqlite":
        path = make_url(url).database
        assert path
        con = sqlite3.connect(path)
        con.execute("UPDATE audit_retention_gate SET open = 1")
        for s, outcome, prev_hash, digest in updates:
            con.execute(
                "UPDATE audit_log SET outcome = ?, prev_hash = ?, entry_hash = ? WHERE seq = ?",
                (outcome, prev_hash, digest, s),
            )
        con.execute("UPDATE audit_chain_head SET last_hash = ?", (prev,))
        con.execute("UPDATE audit_retention_gate SET open = 0")
        con.commit()
        con.close()
    else:
        u = make_url(url)
        pg = await asyncpg.connect(host=u.host, port=u.port, user=u.username, database=u.database)
        async with pg.transaction():
            await pg.execute("SELECT set_config('closerr.audit_retention', 'on', true)")
            for s, outcome, prev_hash, digest in updates:
                await pg.execute(
                    "UPDATE audit_log SET outcome = $1, prev_hash = $2, entry_hash = $3 WHERE seq = $4",
                    outcome,
                    prev_hash,
                    digest,
                    s,
                )
            await pg.execute("UPDATE audit_chain_head SET last_hash = $1", prev)
        await pg.close()


async def test_an_edit_rehashed_without_the_key_is_detected(db: Database, database_url: str) -> None:
    await _append_n(db, 4)
    async with db.sessions() as s:
        assert (await verify(s)).ok
    await _rehash_from(db, database_url, 2)
    rows = await _rows(db)
    assert rows[1].outcome == "failure"
    # The attack is sound: from the edit on, a plain SHA-256 chain (the log before keying) that verifies.
    assert verify_entries([stored_entry(r) for r in rows[1:]], anchor_seq=1, anchor_hash=rows[0].entry_hash).ok
    async with db.sessions() as s:
        result = await verify(s)
    assert not result.ok and result.first_broken_seq == 2
    assert "without the audit key" in (result.reason or "")


async def test_an_untouched_chain_verifies_with_its_key_and_not_with_another(db: Database) -> None:
    await _append_n(db, 3)
    async with db.sessions() as s:
        result = await verify(s)
    assert result.ok and result.checked == 3 and result.unkeyed == 0 and result.keyed_from_seq == 1
    use_key(OTHER_KEY)
    async with db.sessions() as s:
        other = await verify(s)
    assert not other.ok and other.first_broken_seq == 1


def _upgrade(connection: Connection, target: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), target)


async def test_entries_from_before_keying_verify_and_are_counted(database_url: str) -> None:
    """A database whose log was written by the plain SHA-256 chain: after the upgrade its old entries verify as
    before, new ones are keyed, the report counts the old ones, and retention can still cut across the boundary."""
    database = create_database(database_url)
    try:
        async with database.engine.begin() as conn:
            await conn.run_sync(_upgrade, "0100_privacy")
        t0 = datetime.now(UTC) - timedelta(days=800)
        prev = GENESIS_HASH
        async with database.engine.begin() as conn:
            for seq in (1, 2, 3):
                fields = ChainFields(
                    seq=seq,
                    occurred_at=t0 + timedelta(days=seq),
                    actor="system:old",
                    tenant_id=None,
                    action="campaign.state",
                    object_type=None,
                    object_id=None,
                    request_id=None,
                    client_ip=None,
                    outcome="success",
                    details_json="{}",
                    prev_hash=prev,
                )
                digest = _plain_sha256(fields)
                await conn.execute(
                    text(
                        "INSERT INTO audit_log (seq, occurred_at, actor, action, outcome, details, prev_hash, "
                        "entry_hash) VALUES (:seq, :at, 'system:old', 'campaign.state', 'success', '{}', :prev, :h)"
                    ),
                    {"seq": seq, "at": fields.occurred_at, "prev": prev, "h": digest},
                )
                prev = digest
            await conn.execute(text("UPDATE audit_chain_head SET seq = 3, last_hash = :h"), {"h": prev})
        await database.migrate()
        await _append_n(database, 2)
        async with database.sessions() as s:
            result = await verify(s)
            head = await s.get(AuditChainHead, 1)
        assert result.ok and result.checked == 5 and result.unkeyed == 3 and result.keyed_from_seq == 4
        assert head is not None and head.keyed_from_seq == 4

        # Retention cuts the two oldest unkeyed entries; the rest still verifies from the new anchor.
        async with database.sessions() as s, s.begin():
            assert await prune_expired(s, t0 + timedelta(days=2, hours=12)) == 2
        async with database.sessions() as s:
            after = await verify(s)
        assert after.ok and after.checked == 3 and after.unkeyed == 1
    finally:
        await database.dispose()


def closerr(*args: str, env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "closerr.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def _env(tmp_path: Path, key: str | None) -> dict[str, str]:
    env: dict[str, Any] = {**os.environ, "CLOSERR_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    env.pop("CLOSERR_DATABASE_URL", None)
    env.pop("CLOSERR_AUDIT_HMAC_KEY", None)
    if key is not None:
        env["CLOSERR_AUDIT_HMAC_KEY"] = key
    return env


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_servers_refuse_the_development_key_without_dev(tmp_path: Path, command: str) -> None:
    out = closerr(command, env=_env(tmp_path, None))
    assert out.returncode == 2
    assert "CLOSERR_AUDIT_HMAC_KEY" in out.stderr and "--dev" in out.stderr


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_servers_refuse_a_short_key_without_dev(tmp_path: Path, command: str) -> None:
    out = closerr(command, env=_env(tmp_path, "short-secret"))
    assert out.returncode == 2
    assert "CLOSERR_AUDIT_HMAC_KEY is too short" in out.stderr


def test_serve_accepts_the_development_key_with_dev(tmp_path: Path) -> None:
    # Past the key check, serve stops at the next one (half a TLS configuration): no server needs to start.
    cert = tmp_path / "cert.pem"
    cert.write_text("not used")
    out = closerr("serve", "--dev", "--ssl-certfile", str(cert), env=_env(tmp_path, None))
    assert out.returncode == 2
    assert "both --ssl-certfile and --ssl-keyfile" in out.stderr and "AUDIT_HMAC_KEY" not in out.stderr


def test_audit_verify_cli_detects_a_rehash_without_the_key(tmp_path: Path) -> None:
    env = _env(tmp_path, KEY)
    assert closerr("purge", "--now", env=env).returncode == 0
    assert closerr("purge", "--now", env=env).returncode == 0
    ok = closerr("audit", "verify", env=env)
    assert ok.returncode == 0, ok.stderr
    assert '"unkeyed": 0' in ok.stdout

    con = sqlite3.connect(tmp_path / "closerr.sqlite3")
    con.row_factory = sqlite3.Row
    rows = con.execute("SELECT * FROM audit_log ORDER BY seq").fetchall()
    prev = GENESIS_HASH
    forged: list[StoredEntry] = []
    con.execute("UPDATE audit_retention_gate SET open = 1")
    for row in rows:
        fields = ChainFields(
            seq=row["seq"],
            occurred_at=datetime.fromisoformat(row["occurred_at"]),
            actor="cli:someone-else",
            tenant_id=row["tenant_id"],
            action=row["action"],
            object_type=row["object_type"],
            object_id=row["object_id"],
            request_id=row["request_id"],
            client_ip=row["client_ip"],
            outcome=row["outcome"],
            details_json=row["details"],
            prev_hash=prev,
            subject_ref=row["subject_ref"],
        )
        prev = _plain_sha256(fields)
        forged.append(StoredEntry(fields, prev))
        con.execute(
            "UPDATE audit_log SET actor = ?, prev_hash = ?, entry_hash = ? WHERE seq = ?",
            (fields.actor, fields.prev_hash, prev, row["seq"]),
        )
    con.execute("UPDATE audit_chain_head SET last_hash = ?", (prev,))
    con.execute("UPDATE audit_retention_gate SET open = 0")
    con.commit()
    con.close()
    assert len(forged) == 2 and verify_entries(forged).ok  # a sound plain re-hash

    broken = closerr("audit", "verify", env=env)
    assert broken.returncode == 1
    assert "audit log broken at entry 1" in broken.stderr


async def test_a_head_moved_to_pass_keyed_entries_as_plain_is_detected(db: Database) -> None:
    await _append_n(db, 2)
    async with db.sessions() as s, s.begin():
        await s.execute(text("UPDATE audit_chain_head SET keyed_from_seq = 1000"))
    async with db.sessions() as s:
        result = await verify(s)
    assert not result.ok and "keyed from 1000" in (result.reason or "")
