"""Lead queries and the staged, set-based upload path.

An upload streams its checked rows into a temporary staging table, then three statements do the rest inside one
transaction: mark rows already in the campaign (``duplicate``), mark rows the DND registry or the client's own
suppression list blocks for the campaign's category (``dnd_blocked``), insert the remaining rows into ``leads``.
Nothing reaches ``leads`` until the final statement, and the transaction makes the batch all-or-nothing.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.storage.bulk import driver_connection, sqlite_ts
from control_api.storage.tables import REGISTRY_SCOPE, Lead, LeadUpload

StagedRow = tuple[int, int, str | None, str | None, str | None, Any, str | None]

_STAGE_COLUMNS = ["line", "phone", "name", "metadata", "consent_source", "consent_at", "consent_purpose"]


class LeadStager:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        self.table = f"lead_stage_{uuid.uuid4().hex[:12]}"
        self._driver: Any = None

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    def stage_time(self, value: datetime) -> Any:
        return value if self.is_postgres else sqlite_ts(value)

    async def start(self) -> None:
        self._driver = await driver_connection(self.session)
        if self.is_postgres:
            await self._driver.execute(
                f"CREATE TEMP TABLE {self.table} (line integer, phone bigint, name text, metadata text, "
                "consent_source text, consent_at timestamptz, consent_purpose text, reason text) ON COMMIT DROP"
            )
        else:
            await self._driver.execute(
                f"CREATE TEMP TABLE {self.table} (line INTEGER, phone INTEGER, name TEXT, metadata TEXT, "
                "consent_source TEXT, consent_at TEXT, consent_purpose TEXT, reason TEXT)"
            )

    async def add(self, rows: Sequence[StagedRow]) -> None:
        if not rows:
            return
        if self.is_postgres:
            await self._driver.copy_records_to_table(self.table, records=rows, columns=_STAGE_COLUMNS)
        else:
            await self._driver.executemany(
                f"INSERT INTO {self.table} (line, phone, name, metadata, consent_source, consent_at, "
                "consent_purpose) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    async def finish(
        self,
        *,
        upload: LeadUpload,
        category: int,
        attestation: tuple[str, datetime, str] | None,
        now: datetime,
    ) -> tuple[int, list[tuple[int, str]]]:
        """Scrub and insert; answers (accepted, [(line, reason)]) for the rows rejected here, by line."""
        # The upload row is the first write to the real tables: on SQLite it takes the write lock before any
        # read of them, so a concurrent commit cannot invalidate this transaction's snapshot.
        self.session.add(upload)
        await self.session.flush()
        d = self._driver
        bit = 1 << (category - 1)
        a_source, a_at, a_purpose = attestation if attestation else (None, None, None)
        if self.is_postgres:
            await d.execute(f"ANALYZE {self.table}")
            await d.execute(
                f"UPDATE {self.table} s SET reason = 'duplicate' WHERE EXISTS "
                "(SELECT 1 FROM leads l WHERE l.campaign_id = $1 AND l.phone = s.phone)",
                upload.campaign_id,
            )
            await d.execute(
                f"UPDATE {self.table} s SET reason = 'dnd_blocked' WHERE reason IS NULL AND EXISTS "
                "(SELECT 1 FROM dnd_entries e WHERE e.phone = s.phone AND e.scope IN ($1, $2) "
                "AND (e.blocked_all OR (e.categories & $3) = 0))",
                REGISTRY_SCOPE,
                upload.account_id,
                bit,
            )
            status = await d.execute(
                "INSERT INTO leads (account_id, campaign_id, upload_id, line, phone, name, metadata, "
                "consent_source, consent_at, consent_purpose, consent_attested_by, status, attempts, created_at) "
                "SELECT $1, $2, $3, line, phone, name, metadata::jsonb, COALESCE(consent_source, $4), "
                "COALESCE(consent_at, $5), COALESCE(consent_purpose, $6), $7, 'pending', 0, $8 "
                f"FROM {self.table} WHERE reason IS NULL ORDER BY line",
                upload.account_id,
                upload.campaign_id,
                upload.id,
                a_source,
                a_at,
                a_purpose,
                upload.attested_by,
                now,
            )
            accepted = int(status.split()[-1])
            rejected = [
                (int(r[0]), str(r[1]))
                for r in await d.fetch(f"SELECT line, reason FROM {self.table} WHERE reason IS NOT NULL ORDER BY line")
            ]
            return accepted, rejected
        await d.execute(
            f"UPDATE {self.table} SET reason = 'duplicate' WHERE EXISTS "
            f"(SELECT 1 FROM leads l WHERE l.campaign_id = ? AND l.phone = {self.table}.phone)",
            (upload.campaign_id,),
        )
        await d.execute(
            f"UPDATE {self.table} SET reason = 'dnd_blocked' WHERE reason IS NULL AND EXISTS "
            f"(SELECT 1 FROM dnd_entries e WHERE e.phone = {self.table}.phone AND e.scope IN (?, ?) "
            "AND (e.blocked_all OR (e.categories & ?) = 0))",
            (REGISTRY_SCOPE, upload.account_id, bit),
        )
        cursor = await d.execute(
            "INSERT INTO leads (account_id, campaign_id, upload_id, line, phone, name, metadata, consent_source, "
            "consent_at, consent_purpose, consent_attested_by, status, attempts, created_at) "
            "SELECT ?, ?, ?, line, phone, name, metadata, COALESCE(consent_source, ?), COALESCE(consent_at, ?), "
            f"COALESCE(consent_purpose, ?), ?, 'pending', 0, ? FROM {self.table} WHERE reason IS NULL ORDER BY line",
            (
                upload.account_id,
                upload.campaign_id,
                upload.id,
                a_source,
                None if a_at is None else sqlite_ts(a_at),
                a_purpose,
                upload.attested_by,
                sqlite_ts(now),
            ),
        )
        accepted = cursor.rowcount
        await cursor.close()
        cursor = await d.execute(f"SELECT line, reason FROM {self.table} WHERE reason IS NOT NULL ORDER BY line")
        rejected = [(int(r[0]), str(r[1])) for r in await cursor.fetchall()]
        await cursor.close()
        return accepted, rejected

    async def drop(self) -> None:
        """SQLite keeps temp tables for the life of the pooled connection; PostgreSQL drops them on commit."""
        if self._driver is not None and not self.is_postgres:
            # The connection may be gone; the table dies with it then.
            with contextlib.suppress(Exception):
                await self._driver.execute(f"DROP TABLE IF EXISTS {self.table}")


async def list_for_campaign(
    session: AsyncSession, account_id: str, campaign_id: str, after_id: int, limit: int, status: str | None
) -> list[Lead]:
    query = select(Lead).where(Lead.campaign_id == campaign_id, Lead.account_id == account_id, Lead.id > after_id)
    if status is not None:
        query = query.where(Lead.status == status)
    rows = await session.scalars(query.order_by(Lead.id).limit(limit))
    return list(rows)


async def delete_for_campaigns(session: AsyncSession, campaign_ids: list[str]) -> int:
    """Delete the leads of these campaigns (leads carry no foreign key, so no cascade does it)."""
    if not campaign_ids:
        return 0
    result = await session.execute(delete(Lead).where(Lead.campaign_id.in_(campaign_ids)))
    return int(getattr(result, "rowcount", 0) or 0)


async def get_upload(session: AsyncSession, account_id: str, upload_id: str) -> LeadUpload | None:
    return await session.scalar(
        select(LeadUpload).where(LeadUpload.id == upload_id, LeadUpload.account_id == account_id)
    )
