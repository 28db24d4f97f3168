"""Client-requested purge of a whole campaign's leads and call logs, and the scheduled retention purge.

The retention purge is idempotent (it only ever looks for what is still past a clock), works in small batches,
each its own transaction (no long lock on a busy table), and writes one audit entry per run with counts only.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from config.settings import Settings
from control_api.audit import AuditContext
from control_api.audit.context import SYSTEM_RETENTION
from control_api.audit.retention import count_expired, prune_expired
from control_api.errors import NotFound
from control_api.privacy import repository as repo
from control_api.privacy.audio_files import delete_audio, delete_paths, list_audio
from control_api.privacy.retention_policy import Cutoffs, content_expired, cutoffs, effective_content_days
from control_api.privacy.storage_hygiene import begin_secure_delete, flush_deleted_pages
from control_api.storage.db import Database

# A recording being written may not have its call row committed yet: leave young orphan files alone.
ORPHAN_AUDIO_GRACE_S = 3600.0


async def purge_campaign(session: AsyncSession, ctx: AuditContext, campaign_id: str, data_dir: Path) -> dict[str, int]:
    assert ctx.tenant_id is not None
    campaign = await repo.get_campaign(session, ctx.tenant_id, campaign_id)
    if campaign is None:
        raise NotFound("campaign")
    await begin_secure_delete(session)
    call_ids = await repo.campaign_call_ids(session, campaign_id)
    lead_ids = await repo.campaign_lead_ids(session, campaign_id)
    counts = {"audio_files": await delete_audio(data_dir, call_ids)}
    counts["copies"] = await repo.delete_dependents(session, call_ids=call_ids, lead_ids=lead_ids)
    counts["calls"] = await repo.delete_calls(session, call_ids)
    counts["leads"] = await repo.delete_leads(session, lead_ids)
    counts["uploads"] = await repo.delete_campaign_uploads(session, campaign_id)
    await session.flush()
    session.expunge_all()
    await ctx.record(session, "campaign.purge", object_type="campaign", object_id=campaign_id, details=counts)
    return counts


@dataclass
class RetentionReport:
    dry_run: bool
    started_at: str
    content_calls: int = 0  # calls whose transcript/slots/record were removed (clock 1)
    audio_files: int = 0
    copies: int = 0
    metadata_calls: int = 0  # call rows removed entirely (clock 2)
    leads: int = 0
    grievances: int = 0
    audit_entries: int = 0
    per_campaign_days: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("per_campaign_days")
        d.pop("started_at")
        return d

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


async def run_retention(
    db: Database,
    settings: Settings,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    batch: int = 500,
    ctx: AuditContext = SYSTEM_RETENTION,
) -> RetentionReport:
    now = now or datetime.now(UTC)
    run = _RetentionRun(
        db=db,
        settings=settings,
        clocks=cutoffs(now, metadata_days=settings.metadata_retention_days),
        report=RetentionReport(dry_run=dry_run, started_at=now.isoformat()),
        batch=batch,
    )
    await run.content_days()
    await run.strip_expired_content()
    await run.delete_expired_audio()
    await run.delete_expired_calls()
    await run.delete_expired_leads()
    if dry_run:
        async with db.sessions() as session:
            run.report.audit_entries = await count_expired(session, run.clocks.metadata_before)
        return run.report
    await run.close(ctx)
    return run.report


Ids = TypeVar("Ids", list[str], list[int])


@dataclass
class _RetentionRun:
    """One retention run: clock 1 (call content per campaign, audio), then clock 2 (call metadata, leads with
    nothing younger, resolved grievances, the audit log's old end). A dry run only counts."""

    db: Database
    settings: Settings
    clocks: Cutoffs
    report: RetentionReport
    batch: int
    days_of: dict[str, int] = field(default_factory=dict)

    async def content_days(self) -> None:
        async with self.db.sessions() as session:
            inputs = await repo.retention_inputs(session)
        for campaign_id, _account, campaign_days, account_days in inputs:
            self.days_of[campaign_id] = effective_content_days(
                campaign_days=campaign_days,
                account_days=account_days,
                default_days=self.settings.content_retention_days,
                metadata_days=self.settings.metadata_retention_days,
            )
        self.report.per_campaign_days = self.days_of

    async def _sweep(
        self,
        count: Callable[[AsyncSession], Awaitable[int]],
        take: Callable[[AsyncSession, int], Awaitable[Ids]],
        purge: Callable[[AsyncSession, Ids], Awaitable[None]],
    ) -> int:
        """Purge what ``take`` finds, a batch per transaction, until none is left; ``purge`` adds to the report.
        A dry run answers ``count`` instead (0 otherwise): the caller adds it once this returns, as the report's
        fields change while a real sweep runs."""
        if self.report.dry_run:
            async with self.db.sessions() as session:
                return await count(session)
        while True:
            async with self.db.sessions() as session:
                ids = await take(session, self.batch)
                if not ids:
                    return 0
                await begin_secure_delete(session)
                await purge(session, ids)
                await session.commit()
            if len(ids) < self.batch:
                return 0

    async def strip_expired_content(self) -> None:
        """Clock 1: content of calls past their campaign's retention."""
        for campaign_id, days in self.days_of.items():
            counted = await self._strip_campaign(campaign_id, self.clocks.content_before(days))
            self.report.content_calls += counted

    async def _strip_campaign(self, campaign_id: str, before: datetime) -> int:
        return await self._sweep(
            lambda session: repo.count_calls_with_expired_content(session, campaign_id, before),
            lambda session, limit: repo.calls_with_expired_content(session, campaign_id, before, limit),
            self._strip_content,
        )

    async def _strip_content(self, session: AsyncSession, ids: list[str]) -> None:
        self.report.audio_files += await delete_audio(self.settings.data_dir, ids)
        self.report.copies += await repo.delete_dependents(session, call_ids=ids)
        self.report.content_calls += await repo.strip_call_content(session, ids)

    async def delete_expired_audio(self) -> None:
        """Audio whose call is gone or past its content clock (also catches files written after a purge)."""
        files = await list_audio(self.settings.data_dir, min_age_s=ORPHAN_AUDIO_GRACE_S)
        if not files:
            return
        async with self.db.sessions() as session:
            known = await repo.call_times(session, list(files))
        default_days = self.settings.content_retention_days
        expired = [
            path
            for call_id, path in files.items()
            if call_id not in known
            or content_expired(known[call_id][0], self.days_of.get(known[call_id][1], default_days), self.clocks.now)
        ]
        self.report.audio_files += len(expired) if self.report.dry_run else await delete_paths(expired)

    async def delete_expired_calls(self) -> None:
        """Clock 2: call rows, with their audio and payload copies."""
        before = self.clocks.metadata_before
        counted = await self._sweep(
            lambda session: repo.count_calls_past_metadata_clock(session, before),
            lambda session, limit: repo.calls_past_metadata_clock(session, before, limit),
            self._delete_calls,
        )
        self.report.metadata_calls += counted

    async def _delete_calls(self, session: AsyncSession, ids: list[str]) -> None:
        self.report.audio_files += await delete_audio(self.settings.data_dir, ids)
        self.report.copies += await repo.delete_dependents(session, call_ids=ids)
        self.report.metadata_calls += await repo.delete_calls(session, ids)

    async def delete_expired_leads(self) -> None:
        """Clock 2: leads with no younger call left. A dry run counts them as if the calls above were gone
        already, which is what a real run does."""
        before = self.clocks.metadata_before
        counted = await self._sweep(
            lambda session: repo.count_leads_past_metadata_clock(session, before),
            lambda session, limit: repo.leads_past_metadata_clock(session, before, limit),
            self._delete_leads,
        )
        self.report.leads += counted

    async def _delete_leads(self, session: AsyncSession, lead_ids: list[int]) -> None:
        self.report.copies += await repo.delete_dependents(session, lead_ids=lead_ids)
        self.report.leads += await repo.delete_leads(session, lead_ids)

    async def close(self, ctx: AuditContext) -> None:
        """Clock 2's rest (resolved grievances, the audit log's old end), the run's audit entry, then the freed
        pages are overwritten."""
        before = self.clocks.metadata_before
        async with self.db.sessions() as session:
            self.report.grievances = await repo.grievances_past_metadata_clock(session, before)
            self.report.audit_entries = await prune_expired(session, before)
            await ctx.record(session, "retention.purge", object_type="retention", details=self.report.counts())
            await session.commit()
        await flush_deleted_pages(self.db)
