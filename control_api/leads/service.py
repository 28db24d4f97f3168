"""Lead upload rules: attestation, streaming parse (off the event loop), staging, scrub, atomic insert."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from litestar.response import File
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts.service import Principal
from control_api.campaigns import lifecycle
from control_api.campaigns import service as campaigns
from control_api.campaigns.lifecycle import State
from control_api.errors import Conflict, InvalidField, NotFound
from control_api.leads import repository as repo
from control_api.leads.parsing import make_parser
from control_api.leads.rejections import INLINE_LIMIT, RejectionSpool, report_path, write_report
from control_api.leads.row_rules import CONSENT_CLOCK_SKEW, Attestation, LeadParser, UploadOptions
from control_api.leads.schemas import ConsentRecord, LeadPage, LeadView, UploadReport
from control_api.leads.tables import Lead, LeadUpload
from control_api.leads.writer import LeadWriter, StagedRow, UploadContext
from control_api.leads.writer_pg import PgLeadWriter
from control_api.leads.writer_sqlite import SqliteLeadWriter
from control_api.pagination import decode_cursor, encode_cursor
from control_api.phones import to_e164
from control_api.storage.db import Database
from control_api.storage.types import utcnow
from control_api.streaming import byte_batches

log = logging.getLogger(__name__)

_UPLOADABLE = frozenset({State.DRAFT, State.SCHEDULED, State.RUNNING, State.PAUSED})


@dataclass(frozen=True)
class UploadParams:
    content_type: str
    no_minors_attested: bool
    consent_source: str | None
    consent_purpose: str | None
    consent_at: datetime | None
    client_ip: str | None
    max_bytes: int
    data_dir: Path  # where the rejection report is kept


def attestation_of(params: UploadParams, now: datetime) -> Attestation | None:
    source = (params.consent_source or "").strip()
    purpose = (params.consent_purpose or "").strip()
    if not source and not purpose:
        if params.consent_at is not None:
            raise InvalidField("consent_source", "consent_at needs consent_source and consent_purpose")
        return None
    if not source:
        raise InvalidField("consent_source", "a campaign-level attestation needs consent_source")
    if not purpose:
        raise InvalidField("consent_purpose", "a campaign-level attestation needs consent_purpose")
    if len(source) > 200:
        raise InvalidField("consent_source", "consent_source is longer than 200 characters")
    if len(purpose) > 500:
        raise InvalidField("consent_purpose", "consent_purpose is longer than 500 characters")
    at = params.consent_at or now
    if at.tzinfo is None:
        raise InvalidField("consent_at", "consent_at needs a time zone (e.g. 2026-05-01T10:00:00Z)")
    if at > now + CONSENT_CLOCK_SKEW:
        raise InvalidField("consent_at", "consent_at is in the future")
    return Attestation(source=source, purpose=purpose, at=at)


def make_lead_writer(session: AsyncSession, ctx: UploadContext) -> LeadWriter:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        return PgLeadWriter(session, ctx)
    return SqliteLeadWriter(session, ctx)


async def _uploadable_campaign(session: AsyncSession, principal: Principal, campaign_id: str) -> tuple[str, int]:
    campaign = await campaigns.get_owned(session, principal, campaign_id)
    state = State(campaign.state)
    if state not in _UPLOADABLE:
        raise Conflict(
            f"leads cannot be added to a {state} campaign",
            state=str(state),
            allowed_actions=lifecycle.allowed_actions(state),
        )
    return campaign.state, campaign.category


async def upload(
    db: Database,
    principal: Principal,
    campaign_id: str,
    body: AsyncIterator[bytes],
    params: UploadParams,
) -> UploadReport:
    """Stream, check, scrub and insert one upload; all of it or nothing."""
    now = utcnow()
    attestation = attestation_of(params, now)
    async with db.sessions() as session:  # a short read, before the long upload transaction
        _state, category = await _uploadable_campaign(session, principal, campaign_id)
    upload_id = str(uuid.uuid4())
    ctx = UploadContext(
        account_id=principal.account_id,
        campaign_id=campaign_id,
        upload_id=upload_id,
        category=category,
        attested_by=principal.key_prefix,
        attestation=None if attestation is None else (attestation.source, attestation.at, attestation.purpose),
        now=now,
    )
    timings = Timings()
    async with db.sessions() as session:
        writer = make_lead_writer(session, ctx)
        options = UploadOptions(
            no_minors_attested=params.no_minors_attested,
            attestation=attestation,
            stage_time=writer.stage_time,
            consent_not_after=now + CONSENT_CLOCK_SKEW,
        )
        parser = make_parser(params.content_type, options)
        spool = RejectionSpool()
        report_file = report_path(params.data_dir, upload_id)

        async def still_uploadable() -> None:
            # The campaign may have been cancelled, or its script's category changed, while the file streamed.
            _, now_category = await _uploadable_campaign(session, principal, campaign_id)
            if now_category != category:
                raise Conflict("the campaign's category changed during the upload; upload again", field="script")

        try:
            await writer.start()
            await _stream_into(parser, spool, body, params.max_bytes, writer, timings)
            record = LeadUpload(
                id=upload_id,
                account_id=principal.account_id,
                campaign_id=campaign_id,
                content_type=params.content_type.split(";")[0].strip().lower(),
                no_minors_attested=params.no_minors_attested,
                consent_attestation=None
                if attestation is None
                else {"source": attestation.source, "purpose": attestation.purpose, "at": attestation.at.isoformat()},
                attested_by=principal.key_prefix,
                client_ip=params.client_ip,
                created_at=now,
            )
            t_finish = time.perf_counter()
            accepted, db_rejected = await writer.finish(record, still_uploadable)
            timings.finish_s = time.perf_counter() - t_finish
            summary = await asyncio.to_thread(write_report, spool, db_rejected, report_file)
            record.accepted = accepted
            record.rejected = summary.total
            record.rejected_by_reason = summary.by_reason
            t_commit = time.perf_counter()
            await session.commit()
            timings.commit_s = time.perf_counter() - t_commit
        except BaseException:
            await session.rollback()
            report_file.unlink(missing_ok=True)
            raise
        finally:
            spool.close()
            t_drop = time.perf_counter()
            await writer.drop()
            timings.drop_s = time.perf_counter() - t_drop
    log.info(
        "lead upload %s: rows=%d accepted=%d receive_s=%.2f parse_s=%.2f write_s=%.2f finish_s=%.2f commit_s=%.2f "
        "drop_s=%.2f",
        upload_id,
        parser.rows_seen,
        accepted,
        timings.receive_s,
        timings.parse_s,
        timings.write_s,
        timings.finish_s,
        timings.commit_s,
        timings.drop_s,
    )
    return UploadReport(
        upload_id=upload_id,
        accepted=accepted,
        rejected=summary.inline,
        rejected_by_reason=summary.by_reason,
        rows=parser.rows_seen,
        rejected_count=summary.total,
        rejected_truncated=summary.total > INLINE_LIMIT,
        rejections_url=f"/v1/campaigns/{campaign_id}/leads/uploads/{upload_id}/rejections",
    )


async def rejection_report(
    session: AsyncSession, principal: Principal, campaign_id: str, upload_id: str, data_dir: Path
) -> File:
    """The file of an upload's rejected rows (``line,reason,detail``), for its owner only: the API's and the
    console's download alike."""
    upload = await repo.get_upload(session, principal.account_id, upload_id)
    path = report_path(data_dir, upload_id)
    if upload is None or upload.campaign_id != campaign_id or not path.is_file():
        raise NotFound("rejection report")
    return File(path, filename=f"rejections-{upload_id}.csv", media_type="text/csv; charset=utf-8")


@dataclass
class Timings:
    """Where an upload spent its time (seconds); logged per upload, no personal data."""

    receive_s: float = 0.0
    parse_s: float = 0.0
    write_s: float = 0.0  # waiting for writes that parsing did not hide
    finish_s: float = 0.0
    commit_s: float = 0.0
    drop_s: float = 0.0  # the writer's clean-up (SQLite: dropping the staging table)


_WRITES_IN_FLIGHT = 2


def _parse(parser: LeadParser, spool: RejectionSpool, blob: bytes | None) -> list[StagedRow]:
    rows = parser.feed(b"" if blob is None else blob, blob is None)
    spool.take(parser)
    return rows


async def _stream_into(
    parser: LeadParser,
    spool: RejectionSpool,
    body: AsyncIterator[bytes],
    max_bytes: int,
    writer: LeadWriter,
    timings: Timings,
) -> None:
    """Read, parse and write in a pipeline: while batch N+1 is parsed in a worker thread, batches N and N-1 are
    with the writer (one being checked against the registry, one being written; database work, mostly in the
    database server or the driver's threads), so both cores are busy. The writer keeps batches in order; a
    failure anywhere waits for the writes in flight before the rollback."""
    batches = byte_batches(body, max_bytes)
    in_flight: deque[asyncio.Task[None]] = deque()
    try:
        while True:
            t0 = time.perf_counter()
            blob = await anext(batches, None)
            t1 = time.perf_counter()
            rows = await asyncio.to_thread(_parse, parser, spool, blob)
            t2 = time.perf_counter()
            while len(in_flight) >= _WRITES_IN_FLIGHT:  # back-pressure: parsed rows wait in memory, not on disk
                await in_flight.popleft()
            t3 = time.perf_counter()
            timings.receive_s += t1 - t0
            timings.parse_s += t2 - t1
            timings.write_s += t3 - t2
            in_flight.append(asyncio.create_task(writer.add(rows)))
            if blob is None:
                break
        t4 = time.perf_counter()
        while in_flight:
            await in_flight.popleft()
        timings.write_s += time.perf_counter() - t4
    finally:
        for task in in_flight:
            if not task.done():
                with contextlib.suppress(BaseException):
                    await task


def lead_view(lead: Lead) -> LeadView:
    return LeadView(
        id=lead.id,
        phone=to_e164(lead.phone),
        name=lead.name,
        metadata=lead.extra,
        status=lead.status,
        attempts=lead.attempts,
        consent=ConsentRecord(
            source=lead.consent_source,
            at=lead.consent_at,
            purpose=lead.consent_purpose,
            attested_by=lead.consent_attested_by,
            upload_id=lead.upload_id,
        ),
        line=lead.line,
        created_at=lead.created_at,
        next_attempt_at=lead.next_attempt_at,
        next_attempt_reason=lead.next_attempt_reason,
    )


async def lead_name(session: AsyncSession, principal: Principal, lead_id: int | None) -> str | None:
    """The name of one of the account's leads (None for a browser test call or an erased lead)."""
    lead = None if lead_id is None else await repo.get(session, principal.account_id, lead_id)
    return lead.name if lead is not None else None


async def list_leads(
    session: AsyncSession, principal: Principal, campaign_id: str, limit: int, cursor: str | None, status: str | None
) -> LeadPage:
    await campaigns.get_owned(session, principal, campaign_id)
    after = decode_cursor(cursor)
    rows = await repo.list_for_campaign(session, principal.account_id, campaign_id, after, limit + 1, status)
    items = [lead_view(r) for r in rows[:limit]]
    return LeadPage(items=items, next_cursor=encode_cursor(items[-1].id) if len(rows) > limit else None)
