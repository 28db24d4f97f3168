"""The privacy branch of the migrations: it matches the models, and its triggers exist on each backend."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

import control_api.storage.all_tables  # noqa: F401  (every area's tables on Base.metadata)
from control_api.storage.db import Base, Database

PRIVACY_TABLES = {
    "audit_log",
    "audit_chain_head",
    "audit_retention_gate",
    "grievances",
    "account_privacy",
    "erased_subjects",
    "privacy_jobs",
}


def _tables_in(diff: Any) -> set[str]:
    found: set[str] = set()

    def walk(item: Any) -> None:
        if isinstance(item, list | tuple):
            for part in item:
                walk(part)
        elif isinstance(item, str):
            if item in PRIVACY_TABLES:
                found.add(item)
        else:
            table = getattr(item, "table", None)
            name = getattr(table, "name", None) or getattr(item, "name", None)
            if isinstance(name, str) and name in PRIVACY_TABLES:
                found.add(name)

    walk(diff)
    return found


async def test_privacy_models_match_the_migration(db: Database) -> None:
    def diff(conn: Any) -> list[Any]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return [d for d in compare_metadata(ctx, Base.metadata) if _tables_in(d)]

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_append_only_triggers_are_installed(db: Database) -> None:
    if db.dialect == "postgresql":
        query = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass AND NOT tgisinternal"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
    async with db.engine.connect() as conn:
        names = set((await conn.execute(text(query))).scalars())
    expected = (
        {"audit_log_append_only", "audit_log_no_truncate"}
        if db.dialect == "postgresql"
        else {"audit_log_no_update", "audit_log_no_delete"}
    )
    assert names == expected
