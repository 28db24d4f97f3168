"""Storage: migrations on both backends, models and migrations in step, UTC round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from control_api.accounts.tables import Account
from control_api.storage.db import Base, Database, alembic_config

CORE_TABLES = {
    "accounts",
    "api_keys",
    "console_sessions",
    "rate_limit_windows",
    "campaigns",
    "lead_uploads",
    "leads",
    "dnd_entries",
    "calls",
    "dispatch_leases",  # the dispatch branch creates it; core revisions add the live progress columns
}


async def test_migrations_reach_every_head_and_are_idempotent(migrated_db: Database) -> None:
    await migrated_db.migrate()  # a second start changes nothing
    script = ScriptDirectory.from_config(alembic_config())
    async with migrated_db.engine.connect() as conn:
        applied = {r[0] for r in await conn.execute(text("SELECT version_num FROM alembic_version"))}
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    # A branch that depends on another keeps only its own row in alembic_version: compare ancestries.
    reached = {r.revision for r in script.iterate_revisions(tuple(applied), "base")}
    assert set(script.get_heads()) <= reached
    assert "0001_core" in reached
    assert tables >= CORE_TABLES


async def test_core_models_match_the_migrations(migrated_db: Database) -> None:
    def diff(conn: Any) -> list[Any]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return [d for d in compare_metadata(ctx, Base.metadata) if _table_of(d) in CORE_TABLES]

    async with migrated_db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


def _table_of(d: Any) -> str | None:
    item = d[0] if isinstance(d, list) else d
    for part in item[1:]:
        name = getattr(part, "name", None) if not isinstance(part, str) else None
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if name and name in CORE_TABLES:
            return str(name)
    return item[2] if len(item) > 2 and isinstance(item[2], str) else None


async def test_datetimes_come_back_aware_utc(migrated_db: Database) -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    created = datetime(2026, 6, 1, 12, 0, tzinfo=ist)
    async with migrated_db.sessions() as s:
        s.add(Account(id="a1", name="n", email="e@x.in", billing={}, registration_ip="127.0.0.1", created_at=created))
        await s.commit()
    async with migrated_db.sessions() as s:
        got = await s.scalar(select(Account.created_at).where(Account.id == "a1"))
    assert got == created and got.tzinfo is not None and got.utcoffset() == timedelta(0)
    assert got == datetime(2026, 6, 1, 6, 30, tzinfo=UTC)
