"""PostgreSQL upload writer: each batch is checked with two index probes and copied straight into ``leads``.

Per batch of parsed rows: one query finds the numbers already in the campaign, one finds the numbers the DND
registry or the client's suppression list blocks for the campaign's category (``phone = ANY($1)`` walks the
primary-key index); the remaining rows go in with binary COPY, PostgreSQL's fastest write path (multi-row heap
inserts). Everything happens in the caller's transaction, so a failed upload leaves nothing; uploads to one
campaign are serialised with a transaction-scoped advisory lock, so two files racing cannot both add a number.
"""

from __future__ import annotations

from array import array
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from control_api.storage.bulk import driver_connection
from control_api.storage.repositories.leads import Check, StagedRow, UploadContext
from control_api.storage.tables import REGISTRY_SCOPE, LeadUpload

_LEAD_COLUMNS = [
    "account_id",
    "campaign_id",
    "upload_id",
    "line",
    "phone",
    "name",
    "metadata",
    "consent_source",
    "consent_at",
    "consent_purpose",
    "consent_attested_by",
    "status",
    "attempts",
    "created_at",
]


class PgLeadWriter:
    def __init__(self, session: AsyncSession, ctx: UploadContext) -> None:
        self.session = session
        self.ctx = ctx
        self._driver: Any = None
        self._accepted = 0
        self._dup_lines = array("q")
        self._dnd_lines = array("q")
        self._campaign_has_leads = True

    def stage_time(self, value: datetime) -> Any:
        return value

    async def start(self) -> None:
        self._driver = await driver_connection(self.session)
        await self._driver.execute("SELECT pg_advisory_xact_lock(hashtext($1))", "lead-upload:" + self.ctx.campaign_id)
        # A campaign's first upload (the common case) needs no duplicate probes against the campaign, and the
        # advisory lock keeps it first until this transaction ends.
        self._campaign_has_leads = bool(
            await self._driver.fetchval(
                "SELECT EXISTS (SELECT 1 FROM leads WHERE campaign_id = $1)", self.ctx.campaign_id
            )
        )

    async def add(self, rows: list[StagedRow]) -> None:
        if not rows:
            return
        ctx, d = self.ctx, self._driver
        phones = [r[1] for r in rows]
        dup: set[int] = set()
        if self._campaign_has_leads:
            dup = {
                r[0]
                for r in await d.fetch(
                    "SELECT phone FROM leads WHERE campaign_id = $1 AND phone = ANY($2::bigint[])",
                    ctx.campaign_id,
                    phones,
                )
            }
        blocked = {
            r[0]
            for r in await d.fetch(
                "SELECT phone FROM dnd_entries WHERE phone = ANY($1::bigint[]) AND scope = ANY($2::text[]) "
                "AND (blocked_all OR (categories & $3) = 0)",
                phones,
                [REGISTRY_SCOPE, ctx.account_id],
                1 << (ctx.category - 1),
            )
        }
        a_source, a_at, a_purpose = ctx.attestation if ctx.attestation else (None, None, None)
        base = (ctx.account_id, ctx.campaign_id, ctx.upload_id)
        tail = (ctx.attested_by, "pending", 0, ctx.now)
        records = []
        for line, phone, name, meta, c_source, c_at, c_purpose in rows:
            if dup and phone in dup:
                self._dup_lines.append(line)
            elif blocked and phone in blocked:
                self._dnd_lines.append(line)
            else:
                records.append(
                    (
                        *base,
                        line,
                        phone,
                        name,
                        meta,
                        c_source or a_source,
                        c_at or a_at,
                        c_purpose or a_purpose,
                        *tail,
                    )
                )
        if records:
            await d.copy_records_to_table("leads", records=records, columns=_LEAD_COLUMNS)
            self._accepted += len(records)

    async def finish(self, upload: LeadUpload, check: Check) -> tuple[int, list[tuple[int, str]]]:
        await check()
        self.session.add(upload)
        await self.session.flush()
        rejected = [(ln, "duplicate") for ln in self._dup_lines]
        rejected += [(ln, "dnd_blocked") for ln in self._dnd_lines]
        rejected.sort()
        return self._accepted, rejected

    async def drop(self) -> None:
        return None
