"""SQLite upload writer: rows go to a temporary staging table; three set-based statements finish the job.

Mark rows already in the campaign (``duplicate``), mark rows the DND registry or the client's suppression list
blocks for the campaign's category (``dnd_blocked``), insert the rest into ``leads``. The staging table lives in
SQLite's temp database, so streaming the file takes no lock on the main database; the upload row is the first
write there, taking the write lock before any read of the real tables, so a concurrent commit cannot invalidate
this transaction's snapshot halfway.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from control_api.storage.bulk import driver_connection, sqlite_ts
from control_api.storage.repositories.leads import Check, StagedRow, UploadContext
from control_api.storage.tables import REGISTRY_SCOPE, LeadUpload


class SqliteLeadWriter:
    def __init__(self, session: AsyncSession, ctx: UploadContext) -> None:
        self.session = session
        self.ctx = ctx
        self.table = f"lead_stage_{uuid.uuid4().hex[:12]}"
        self._driver: Any = None

    def stage_time(self, value: datetime) -> Any:
        return sqlite_ts(value)

    async def start(self) -> None:
        self._driver = await driver_connection(self.session)
        await self._driver.execute(
            f"CREATE TEMP TABLE {self.table} (line INTEGER, phone INTEGER, name TEXT, metadata TEXT, "
            "consent_source TEXT, consent_at TEXT, consent_purpose TEXT, reason TEXT)"
        )

    async def add(self, rows: list[StagedRow]) -> None:
        if rows:
            await self._driver.executemany(
                f"INSERT INTO {self.table} (line, phone, name, metadata, consent_source, consent_at, "
                "consent_purpose) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    async def finish(self, upload: LeadUpload, check: Check) -> tuple[int, list[tuple[int, str]]]:
        ctx, d, t = self.ctx, self._driver, self.table
        self.session.add(upload)
        await self.session.flush()
        await check()
        await d.execute(
            f"UPDATE {t} SET reason = 'duplicate' WHERE EXISTS "
            f"(SELECT 1 FROM leads l WHERE l.campaign_id = ? AND l.phone = {t}.phone)",
            (ctx.campaign_id,),
        )
        await d.execute(
            f"UPDATE {t} SET reason = 'dnd_blocked' WHERE reason IS NULL AND EXISTS "
            f"(SELECT 1 FROM dnd_entries e WHERE e.phone = {t}.phone AND e.scope IN (?, ?) "
            "AND (e.blocked_all OR (e.categories & ?) = 0))",
            (REGISTRY_SCOPE, ctx.account_id, 1 << (ctx.category - 1)),
        )
        a_source, a_at, a_purpose = ctx.attestation if ctx.attestation else (None, None, None)
        cursor = await d.execute(
            "INSERT INTO leads (account_id, campaign_id, upload_id, line, phone, name, metadata, consent_source, "
            "consent_at, consent_purpose, consent_attested_by, status, attempts, created_at) "
            "SELECT ?, ?, ?, line, phone, name, metadata, COALESCE(consent_source, ?), COALESCE(consent_at, ?), "
            f"COALESCE(consent_purpose, ?), ?, 'pending', 0, ? FROM {t} WHERE reason IS NULL ORDER BY line",
            (
                ctx.account_id,
                ctx.campaign_id,
                ctx.upload_id,
                a_source,
                None if a_at is None else sqlite_ts(a_at),
                a_purpose,
                ctx.attested_by,
                sqlite_ts(ctx.now),
            ),
        )
        accepted = int(cursor.rowcount)
        await cursor.close()
        cursor = await d.execute(f"SELECT line, reason FROM {t} WHERE reason IS NOT NULL ORDER BY line")
        rejected = [(int(r[0]), str(r[1])) for r in await cursor.fetchall()]
        await cursor.close()
        return accepted, rejected

    async def drop(self) -> None:
        """SQLite keeps temp tables for the life of the pooled connection."""
        if self._driver is not None:
            # The connection may be gone; the table dies with it then.
            with contextlib.suppress(Exception):
                await self._driver.execute(f"DROP TABLE IF EXISTS {self.table}")
