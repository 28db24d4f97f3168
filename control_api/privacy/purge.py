"""Client-requested purge of a whole campaign's leads and call logs, and the scheduled retention purge.

The retention purge is idempotent (it only ever looks for what is still past a clock), works in small batches,
each its own transaction (no long lock on a busy table), and writes one audit entry per run with counts only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config.settings import Settings
from control_api.audit import AuditContext
from control_api.audit.context import SYSTEM_RETENTION
from control_api.audit.retention import count_expired, prune_expired
from control_api.errors import NotFound
from control_api.privacy import repository as repo
from control_api.privacy.audio_files import delete_audio, delete_paths, list_audio
from control_api.privacy.retention_policy import content_expired, cutoffs, effective_content_days
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
    clocks = cutoffs(now, metadata_days=settings.metadata_retention_days)
    report = RetentionReport(dry_run=dry_run, started_at=now.isoformat())
    data_dir = settings.data_dir

    async with db.sessions() as session:
        inputs = await repo.retention_inputs(session)
    days_of: dict[str, int] = {}
    for campaign_id, _account, campaign_days, account_days in inputs:
        days_of[campaign_id] = effective_content_days(
            campaign_days=campaign_days,
            account_days=account_days,
            default_days=settings.content_retention_days,
            metadata_days=settings.metadata_retention_days,
        )
    report.per_campaign_days = days_of

    # Clock 1: content of calls past their campaign's retention.
    for campaign_id, days in days_of.items():
        before = clocks.content_before(days)
        while True:
            async with db.sessions() as session:
                if dry_run:
                    report.content_calls += await repo.count_calls_with_expired_content(session, campaign_id, before)
                    break
                ids = await repo.calls_with_expired_content(session, campaign_id, before, batch)
                if not ids:
                    break
                await begin_secure_delete(session)
                report.audio_files += await delete_audio(data_dir, ids)
                report.copies += await repo.delete_dependents(session, call_ids=ids)
                report.content_calls += await repo.strip_call_content(session, ids)
                await session.commit()
            if len(ids) < batch:
                break

    # Audio whose call is gone or past its content clock (also catches files written after a purge).
    files = await list_audio(data_dir, min_age_s=ORPHAN_AUDIO_GRACE_S)
    if files:
        async with db.sessions() as session:
            known = await repo.call_times(session, list(files))
        expired = [
            path
            for call_id, path in files.items()
            if call_id not in known
            or content_expired(known[call_id][0], days_of.get(known[call_id][1], settings.content_retention_days), now)
        ]
        report.audio_files += len(expired) if dry_run else await delete_paths(expired)

    # Clock 2: call metadata, then leads with nothing younger, resolved grievances, the audit log's old end.
    while True:
        async with db.sessions() as session:
            if dry_run:
                report.metadata_calls = await repo.count_calls_past_metadata_clock(session, clocks.metadata_before)
                break
            ids = await repo.calls_past_metadata_clock(session, clocks.metadata_before, batch)
            if not ids:
                break
            await begin_secure_delete(session)
            report.audio_files += await delete_audio(data_dir, ids)
            report.copies += await repo.delete_dependents(session, call_ids=ids)
            report.metadata_calls += await repo.delete_calls(session, ids)
            await session.commit()
        if len(ids) < batch:
            break
    while True:
        async with db.sessions() as session:
            if dry_run:
                # Counted as if the metadata calls above were gone already, which is what --now would do.
                report.leads = await repo.count_leads_past_metadata_clock(session, clocks.metadata_before)
                break
            lead_ids = await repo.leads_past_metadata_clock(session, clocks.metadata_before, batch)
            if not lead_ids:
                break
            await begin_secure_delete(session)
            report.copies += await repo.delete_dependents(session, lead_ids=lead_ids)
            report.leads += await repo.delete_leads(session, lead_ids)
            await session.commit()
        if len(lead_ids) < batch:
            break

    async with db.sessions() as session:
        if dry_run:
            report.audit_entries = await count_expired(session, clocks.metadata_before)
            return report
        report.grievances = await repo.grievances_past_metadata_clock(session, clocks.metadata_before)
        report.audit_entries = await prune_expired(session, clocks.metadata_before)
        await ctx.record(session, "retention.purge", object_type="retention", details=report.counts())
        await session.commit()
    await flush_deleted_pages(db)
    return report
