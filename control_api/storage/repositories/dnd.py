"""DND registry queries: single lookups, single upserts, and the bulk registry writer."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.storage.bulk import driver_connection, sqlite_ts
from control_api.storage.tables import REGISTRY_SCOPE, DndEntry


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


RegistryRow = tuple[int, int, bool, int, list[dict[str, str]] | None]  # line, phone, blocked_all, mask, bands


class RegistryWriter:
    """Streams parsed registry rows into ``dnd_entries`` inside the caller's transaction; the last row for a
    number wins. SQLite: batched upserts. PostgreSQL: COPY into a temp table, then one set-based upsert."""

    def __init__(self, session: AsyncSession, scope: str, source: str, created_at: datetime) -> None:
        self.session = session
        self.scope = scope
        self.source = source
        self.created_at = created_at
        self.dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        self._driver: Any = None
        self._stage = f"dnd_stage_{uuid.uuid4().hex[:12]}"

    async def start(self) -> None:
        self._driver = await driver_connection(self.session)
        if self.dialect == "postgresql":
            await self._driver.execute(
                f"CREATE TEMP TABLE {self._stage} (line integer, phone bigint, blocked_all boolean, "
                "categories smallint, time_bands jsonb) ON COMMIT DROP"
            )

    async def add(self, rows: Sequence[RegistryRow]) -> None:
        if not rows:
            return
        if self.dialect == "postgresql":
            await self._driver.copy_records_to_table(
                self._stage,
                records=[(ln, p, b, m, None if t is None else json.dumps(t)) for ln, p, b, m, t in rows],
                columns=["line", "phone", "blocked_all", "categories", "time_bands"],
            )
            return
        ts = sqlite_ts(self.created_at)
        await self._driver.executemany(
            "INSERT INTO dnd_entries (phone, scope, blocked_all, categories, time_bands, source, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (phone, scope) DO UPDATE SET "
            "blocked_all = excluded.blocked_all, categories = excluded.categories, "
            "time_bands = excluded.time_bands, source = excluded.source, created_at = excluded.created_at",
            [(p, self.scope, b, m, None if t is None else json.dumps(t), self.source, ts) for _ln, p, b, m, t in rows],
        )

    async def finish(self) -> None:
        if self.dialect != "postgresql":
            return
        await self._driver.execute(
            f"INSERT INTO dnd_entries (phone, scope, blocked_all, categories, time_bands, source, created_at) "
            f"SELECT DISTINCT ON (phone) phone, $1, blocked_all, categories, time_bands, $2, $3 "
            f"FROM {self._stage} ORDER BY phone, line DESC "
            "ON CONFLICT (phone, scope) DO UPDATE SET blocked_all = excluded.blocked_all, "
            "categories = excluded.categories, time_bands = excluded.time_bands, source = excluded.source, "
            "created_at = excluded.created_at",
            self.scope,
            self.source,
            self.created_at,
        )
