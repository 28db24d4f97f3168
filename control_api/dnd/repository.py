"""DND registry queries: single lookups, single upserts, and the bulk registry writer."""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.dnd.tables import REGISTRY_SCOPE, DndEntry
from control_api.storage.bulk import driver_connection, sqlite_ts
from control_api.storage.db import Database


async def entries_for(session: AsyncSession, phone: int, account_id: str | None) -> list[DndEntry]:
    scopes = [REGISTRY_SCOPE] if account_id is None else [REGISTRY_SCOPE, account_id]
    rows = await session.scalars(select(DndEntry).where(DndEntry.phone == phone, DndEntry.scope.in_(scopes)))
    return list(rows)


async def upsert(
    session: AsyncSession,
    *,
    phone: int,
    scope: str,
    blocked_all: bool,
    categories: int,
    time_bands: list[dict[str, str]] | None,
    source: str,
    created_at: datetime,
) -> None:
    values = {
        "phone": phone,
        "scope": scope,
        "blocked_all": blocked_all,
        "categories": categories,
        "time_bands": time_bands,
        "source": source,
        "created_at": created_at,
    }
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    stmt: Any = pg_insert(DndEntry) if dialect == "postgresql" else sqlite_insert(DndEntry)
    stmt = stmt.values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[DndEntry.phone, DndEntry.scope],
        set_={k: stmt.excluded[k] for k in ("blocked_all", "categories", "time_bands", "source", "created_at")},
    )
    await session.execute(stmt)


log = logging.getLogger(__name__)


async def settle(db: Database) -> None:
    """After a bulk import on PostgreSQL: ``VACUUM (ANALYZE) dnd_entries``, once, now. Otherwise autovacuum
    would do it (insert-triggered) at some moment after the import, reading the whole table while lead uploads
    probe it, and the first probes would set the new rows' hint bits, dirtying the pages they read; the
    planner gets the new statistics at once too. SQLite needs nothing of the kind."""
    if db.dialect != "postgresql":
        return
    try:
        async with db.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM cannot run in a transaction
            await conn.exec_driver_sql("VACUUM (ANALYZE) dnd_entries")
    except Exception:  # the import is committed: a failed clean-up must not turn it into an error
        log.warning("VACUUM (ANALYZE) dnd_entries after a registry import failed", exc_info=True)


RegistryRow = tuple[int, int, bool, int, list[dict[str, str]] | None]  # line, phone, blocked_all, mask, bands


class RegistryWriter:
    """Streams parsed registry rows into ``dnd_entries`` inside the caller's transaction; the last row for a
    number wins. Rows are staged in a temporary table (no lock on the real tables while the file streams in),
    then one set-based upsert writes them sorted by number, so the primary-key index fills in order.
    PostgreSQL stages with COPY."""

    def __init__(self, session: AsyncSession, scope: str, source: str, created_at: datetime) -> None:
        self.session = session
        self.scope = scope
        self.source = source
        self.created_at = created_at
        self.dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        self._driver: Any = None
        self._stage = f"dnd_stage_{uuid.uuid4().hex[:12]}"

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    async def start(self) -> None:
        self._driver = await driver_connection(self.session)
        if self.is_postgres:
            await self._driver.execute(
                f"CREATE TEMP TABLE {self._stage} (line integer, phone bigint, blocked_all boolean, "
                "categories smallint, time_bands jsonb) ON COMMIT DROP"
            )
        else:
            await self._driver.execute(
                f"CREATE TEMP TABLE {self._stage} (line INTEGER, phone INTEGER, blocked_all INTEGER, "
                "categories INTEGER, time_bands TEXT)"
            )

    async def add(self, rows: Sequence[RegistryRow]) -> None:
        if not rows:
            return
        records = [(ln, p, b, m, None if t is None else json.dumps(t)) for ln, p, b, m, t in rows]
        if self.is_postgres:
            await self._driver.copy_records_to_table(
                self._stage, records=records, columns=["line", "phone", "blocked_all", "categories", "time_bands"]
            )
        else:
            await self._driver.executemany(
                f"INSERT INTO {self._stage} (line, phone, blocked_all, categories, time_bands) VALUES (?, ?, ?, ?, ?)",
                records,
            )

    async def finish(self) -> None:
        update = (
            "ON CONFLICT (phone, scope) DO UPDATE SET blocked_all = excluded.blocked_all, "
            "categories = excluded.categories, time_bands = excluded.time_bands, source = excluded.source, "
            "created_at = excluded.created_at"
        )
        if self.is_postgres:
            await self._driver.execute(
                "INSERT INTO dnd_entries (phone, scope, blocked_all, categories, time_bands, source, created_at) "
                f"SELECT DISTINCT ON (phone) phone, $1, blocked_all, categories, time_bands, $2, $3 "
                f"FROM {self._stage} ORDER BY phone, line DESC {update}",
                self.scope,
                self.source,
                self.created_at,
            )
            return
        # Sorted by number, then line: a later line for the same number overwrites an earlier one.
        await self._driver.execute(
            "INSERT INTO dnd_entries (phone, scope, blocked_all, categories, time_bands, source, created_at) "
            f"SELECT phone, ?, blocked_all, categories, time_bands, ?, ? FROM {self._stage} WHERE true "
            f"ORDER BY phone, line {update}",
            (self.scope, self.source, sqlite_ts(self.created_at)),
        )

    async def drop(self) -> None:
        """SQLite keeps temp tables for the life of the pooled connection; PostgreSQL drops them on commit."""
        if self._driver is not None and not self.is_postgres:
            with contextlib.suppress(Exception):
                await self._driver.execute(f"DROP TABLE IF EXISTS {self._stage}")
