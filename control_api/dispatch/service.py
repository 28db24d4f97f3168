"""The dispatcher's rules: which leads a worker may dial now (pre-dial checks, caps, credits, fraud guard), what
a finished or lost call does to the lead, the ledger and the campaign.

Lock order, everywhere: the account row (``ledger.lock_account``), then lead/lease rows, then the audit chain
head. One order means two workers can wait on each other but never deadlock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

import metrics
from control_api.audit import append, pseudonymize_phone
from control_api.calls.tables import Call
from control_api.campaigns import service as campaigns
from control_api.campaigns.lifecycle import State
from control_api.campaigns.tables import Campaign
from control_api.credits import fraud, ledger
from control_api.dispatch import repository as repo
from control_api.dispatch import retry, window
from control_api.dispatch.dispositions import DIALING, FINAL_SKIPS, Disposition
from control_api.dispatch.tables import DispatchLease
from control_api.dnd import service as dnd
from control_api.dnd.preferences import BlockReason, zone_of
from control_api.leads.tables import Lead
from control_api.phones import normalise, to_e164
from control_api.storage.db import Database, session_scope
from control_api.storage.types import utcnow
from control_api.webhooks import outbox

ACTOR = "system:dispatcher"
BALANCE_LOW_REASON = "balance_low"
# A DND time band that excludes "now" is not a refusal of the lead: look again after this long.
TIME_BAND_RECHECK = timedelta(minutes=30)


@dataclass(frozen=True)
class DispatchConfig:
    worker_id: str
    lease_ttl_s: float = 30.0
    account_concurrency: int = 20
    rate_per_second: int = 1
    limits: fraud.Limits = field(default_factory=lambda: fraud.Limits(2000, 2_000_000))


@dataclass(frozen=True)
class DialJob:
    call_id: str
    lead_id: int
    campaign_id: str
    account_id: str
    attempt: int
    phone: str  # E.164, for the carrier only: never logged
    name: str
    metadata: dict[str, Any]
    script: dict[str, Any]
    max_call_s: int
    caller_id: str | None


@dataclass
class ClaimResult:
    jobs: list[DialJob] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    paused_reason: str | None = None


@dataclass(frozen=True)
class CallResult:
    disposition: Disposition
    outcome: str | None = None
    record: dict[str, Any] | None = None
    error: str | None = None


# -- audit ---------------------------------------------------------------------------------------------------


def _window_text(c: Campaign) -> str:
    return f"{c.window_start}-{c.window_end} {','.join(c.days)}"


async def _audit_dispatch(
    s: AsyncSession,
    c: Campaign,
    lead: Lead,
    *,
    call_id: str,
    now: datetime,
    consent_ok: bool | None,
    dnd_verdict: dnd.DndVerdict | None,
    outcome: str,
    started_by: str | None,
) -> None:
    skipped = outcome != "dialed"
    await append(
        s,
        actor=ACTOR,
        tenant_id=c.account_id,
        action="call.skip" if skipped else "call.dispatch",
        object_type="call",
        object_id=call_id,
        outcome="denied" if skipped else "success",
        subject_ref=pseudonymize_phone(to_e164(lead.phone)),
        details={
            "campaign_id": c.id,
            "lead_id": str(lead.id),
            "started_by": started_by,
            "attempt": lead.attempts,
            "consent_ok": consent_ok,
            "dnd_allowed": None if dnd_verdict is None else dnd_verdict.allowed,
            "dnd_reason": None if dnd_verdict is None else dnd_verdict.reason,
            "window": _window_text(c),
            "lead_local_time": now.astimezone(zone_of(lead.phone)).strftime("%a %H:%M"),
            "disposition": outcome,
        },
        at=now,
    )


_STARTERS: dict[str, str] = {}  # campaign id -> actor that started it (a campaign starts once: never stale)


async def _started_by(s: AsyncSession, campaign_id: str) -> str | None:
    if campaign_id not in _STARTERS:
        actor = await repo.started_by(s, campaign_id)
        if actor is None:
            return None
        if len(_STARTERS) > 10_000:
            _STARTERS.clear()
        _STARTERS[campaign_id] = actor
    return _STARTERS[campaign_id]


# -- pre-dial checks -----------------------------------------------------------------------------------------


def _consent_ok(lead: Lead, now: datetime) -> bool:
    return bool(lead.consent_source and lead.consent_purpose and lead.consent_attested_by) and lead.consent_at <= now


def _number_ok(lead: Lead) -> bool:
    return isinstance(normalise(to_e164(lead.phone)), int)


async def _skip_final(s: AsyncSession, c: Campaign, lead: Lead, disposition: Disposition, now: datetime) -> str:
    call_id = str(uuid.uuid4())
    lead.status = str(disposition)
    lead.next_attempt_at = None
    s.add(
        Call(
            id=call_id,
            account_id=c.account_id,
            campaign_id=c.id,
            lead_id=lead.id,
            attempt=lead.attempts,
            status=str(disposition),
            ended_at=now,
            created_at=now,
        )
    )
    return call_id


async def pause(s: AsyncSession, c: Campaign, reason: str, now: datetime) -> None:
    """Pause a running campaign with the reason (fraud guard, balance low); the client resumes it."""
    if c.state != State.RUNNING.value:
        return
    await campaigns.transition(s, c, State.PAUSED)
    row = await repo.dispatch_row(s, c.id)
    row.paused_reason, row.paused_at = reason, now
    await append(
        s,
        actor=ACTOR,
        tenant_id=c.account_id,
        action="campaign.pause",
        object_type="campaign",
        object_id=c.id,
        outcome="success",
        details={"reason": reason},
        at=now,
    )


async def claim(
    db: Database, cfg: DispatchConfig, campaign_id: str, account_id: str, slots: int, now: datetime | None = None
) -> ClaimResult:
    """Lease up to ``slots`` due leads of one campaign for this worker, running the pre-dial checks in order."""
    result = ClaimResult()
    async with session_scope(db) as s:
        await ledger.lock_account(s, account_id)
        # The clock is read once the lock is held: a dial's recorded start is never before the slot it took freed.
        now = now or utcnow()
        c = await s.get(Campaign, campaign_id, populate_existing=True)
        if c is None or c.state != State.RUNNING.value:
            return result
        free = min(
            slots,
            c.concurrency - await repo.lease_count(s, campaign_id=c.id),
            cfg.account_concurrency - await repo.lease_count(s, account_id=account_id),
        )
        if free <= 0:
            return result
        hold = c.max_call_seconds * cfg.rate_per_second
        reason = await fraud.check(s, account_id, cfg.limits, now, next_hold=hold)
        if reason is not None:
            await pause(s, c, reason, now)
            result.paused_reason = reason
            return result
        starter = await _started_by(s, c.id)
        for lead in await repo.due_leads(s, c.id, now, limit=free * 4 + 4):
            if len(result.jobs) >= free:
                break
            disposition, verdict, consent = await _pre_dial(s, c, lead, now)
            call_id = str(uuid.uuid4())
            if disposition is None and not await ledger.reserve(s, account_id, call_id, hold):
                disposition = Disposition.BALANCE_LOW
            if disposition is not None:
                result.skipped[str(disposition)] = result.skipped.get(str(disposition), 0) + 1
                if disposition in FINAL_SKIPS:
                    call_id = await _skip_final(s, c, lead, disposition, now)
                await _audit_dispatch(
                    s,
                    c,
                    lead,
                    call_id=call_id,
                    now=now,
                    consent_ok=consent,
                    dnd_verdict=verdict,
                    outcome=str(disposition),
                    started_by=starter,
                )
                if disposition is Disposition.BALANCE_LOW:
                    await pause(s, c, BALANCE_LOW_REASON, now)
                    result.paused_reason = BALANCE_LOW_REASON
                    break
                continue
            lead.attempts += 1
            lead.status = DIALING
            s.add(
                DispatchLease(
                    lead_id=lead.id,
                    call_id=call_id,
                    campaign_id=c.id,
                    account_id=account_id,
                    worker_id=cfg.worker_id,
                    attempt=lead.attempts,
                    reserved=hold,
                    leased_at=now,
                    heartbeat_at=now,
                    expires_at=now + timedelta(seconds=cfg.lease_ttl_s),
                )
            )
            s.add(
                Call(
                    id=call_id,
                    account_id=account_id,
                    campaign_id=c.id,
                    lead_id=lead.id,
                    attempt=lead.attempts,
                    status=DIALING,
                    created_at=now,
                )
            )
            await _audit_dispatch(
                s,
                c,
                lead,
                call_id=call_id,
                now=now,
                consent_ok=consent,
                dnd_verdict=verdict,
                outcome="dialed",
                started_by=starter,
            )
            result.jobs.append(
                DialJob(
                    call_id=call_id,
                    lead_id=lead.id,
                    campaign_id=c.id,
                    account_id=account_id,
                    attempt=lead.attempts,
                    phone=to_e164(lead.phone),
                    name=lead.name or "there",
                    metadata=dict(lead.extra or {}),
                    script=dict(c.script),
                    max_call_s=c.max_call_seconds,
                    caller_id=c.caller_id,
                )
            )
    for skip, n in result.skipped.items():
        for _ in range(n):
            metrics.record_dispatch(skip)
            if skip == Disposition.DND_BLOCKED:
                metrics.record_dnd_block()
    for _ in result.jobs:
        metrics.record_dispatch("dialed")
    return result


async def _pre_dial(
    s: AsyncSession, c: Campaign, lead: Lead, now: datetime
) -> tuple[Disposition | None, dnd.DndVerdict | None, bool | None]:
    """The first failing check (invalid_number, consent_missing, dnd_blocked, outside_window), or None; balance
    is checked by the caller when it reserves."""
    if not _number_ok(lead):
        return Disposition.INVALID_NUMBER, None, None
    if not _consent_ok(lead, now):
        return Disposition.CONSENT_MISSING, None, False
    verdict = await dnd.check(s, lead.phone, c.category, account_id=c.account_id, at=now)
    if not verdict.allowed:
        if verdict.reason == BlockReason.OUTSIDE_TIME_BAND:
            lead.next_attempt_at = now + TIME_BAND_RECHECK
            return Disposition.OUTSIDE_WINDOW, verdict, True
        return Disposition.DND_BLOCKED, verdict, True
    if not window.inside(lead.phone, now, c.window_start, c.window_end, list(c.days)):
        lead.next_attempt_at = window.next_opening(lead.phone, now, c.window_start, c.window_end, list(c.days))
        return Disposition.OUTSIDE_WINDOW, verdict, True
    return None, verdict, True


# -- call end --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Closed:
    disposition: Disposition
    lead_status: str
    charged: int


async def finish(
    db: Database,
    cfg: DispatchConfig,
    job_call_id: str,
    lead_id: int,
    account_id: str,
    result: CallResult,
    now: datetime | None = None,
) -> Closed | None:
    """Settle a call this worker ran. None when the lease is gone (expired and reaped): the reaper already
    closed the call, and closing it again would charge twice."""
    async with session_scope(db) as s:
        await ledger.lock_account(s, account_id)
        now = now or utcnow()
        lease = await repo.lease_for_update(s, lead_id)
        if lease is None or lease.call_id != job_call_id:
            return None
        closed = await _close(s, cfg, lease, result, now)
    if closed.charged:
        metrics.record_credits_consumed(closed.charged)
    if closed.lead_status == "retry":
        metrics.record_dispatch("rescheduled")
    return closed


async def _close(
    s: AsyncSession, cfg: DispatchConfig, lease: DispatchLease, result: CallResult, now: datetime
) -> Closed:
    c = await s.get(Campaign, lease.campaign_id)
    assert c is not None  # campaigns cascade to their leases
    lead = await s.get(Lead, lease.lead_id)
    call = await s.get(Call, lease.call_id)
    record = result.record or {}
    answered = result.disposition not in (Disposition.NO_ANSWER, Disposition.BUSY, Disposition.FAILED) and bool(record)
    duration = float(record.get("duration_s") or 0.0) if answered else 0.0
    settlement = await ledger.settle(
        s,
        lease.account_id,
        lease.call_id,
        reserved=lease.reserved,
        duration_s=duration,
        max_call_s=c.max_call_seconds,
        rate=cfg.rate_per_second,
    )
    if lead is None or call is None:
        # Erased (data-principal request) while the call ran: settle the money, keep nothing about the person.
        await repo.drop_lease(s, lease.lead_id)
        return Closed(disposition=result.disposition, lead_status="erased", charged=settlement.charged)
    call.status = str(result.disposition)
    call.outcome = result.outcome
    call.ended_at = now
    call.duration_s = duration if answered else None
    if answered:
        started = record.get("started_at")
        call.started_at = datetime.fromisoformat(started) if isinstance(started, str) else None
        call.transcript = record.get("transcript")
        call.turns = record.get("turns")
        call.slots = record.get("slots")
        call.record = record
    call.error = result.error or (record.get("error") if answered else None)
    await s.flush()
    decision = retry.decide(
        c.retry,
        attempts=lead.attempts,
        errors=await repo.errored_attempts(s, lead.id),
        disposition=result.disposition,
        outcome=result.outcome,
        callback_at=record.get("callback_at"),
        now=now,
    )
    lead.status = decision.status
    lead.next_attempt_at = decision.next_attempt_at
    await repo.drop_lease(s, lead.id)
    await append(
        s,
        actor=ACTOR,
        tenant_id=c.account_id,
        action="call.end",
        object_type="call",
        object_id=call.id,
        outcome="error" if result.disposition is Disposition.ERROR else "success",
        subject_ref=pseudonymize_phone(to_e164(lead.phone)),
        details={
            "campaign_id": c.id,
            "lead_id": str(lead.id),
            "attempt": lease.attempt,
            "disposition": str(result.disposition),
            "outcome": result.outcome,
            "billed_seconds": settlement.billed_seconds,
            "charged": settlement.charged,
            "lead_status": decision.status,
        },
        at=now,
    )
    if c.webhook_url:
        await outbox.enqueue(
            s,
            c,
            "call.ended",
            {
                "call_id": call.id,
                "lead_id": lead.id,
                "attempt": lease.attempt,
                "disposition": str(result.disposition),
                "outcome": result.outcome,
                "slots": call.slots or {},
                "callback_at": record.get("callback_at"),
                "duration_s": call.duration_s,
                "billed_seconds": settlement.billed_seconds,
                "credits_charged": settlement.charged,
                "lead_status": decision.status,
                "ended_at": now.isoformat(),
            },
            now,
        )
    return Closed(disposition=result.disposition, lead_status=decision.status, charged=settlement.charged)


async def reap_expired(db: Database, cfg: DispatchConfig, now: datetime | None = None, limit: int = 50) -> int:
    """Return the leads of lost workers (lease not heartbeated in time) as ``error`` for the retry policy."""
    given = now
    async with db.sessions() as s:
        expired = await repo.expired_leases(s, given or utcnow(), limit)
    reaped = 0
    for lead_id, call_id, account_id in expired:
        async with session_scope(db) as s:
            await ledger.lock_account(s, account_id)
            now = given or utcnow()
            lease = await repo.lease_for_update(s, lead_id)
            if lease is None or lease.call_id != call_id or lease.expires_at >= now:
                continue  # finished or heartbeated meanwhile
            await _close(s, cfg, lease, CallResult(Disposition.ERROR, error="lease expired: worker lost"), now)
            reaped += 1
        metrics.record_dispatch("error")
    return reaped


async def heartbeat(db: Database, cfg: DispatchConfig, call_ids: list[str], now: datetime | None = None) -> set[str]:
    """Extend the leases of ``call_ids``; answers those this worker still holds."""
    if not call_ids:
        return set()
    async with session_scope(db) as s:
        return await repo.heartbeat(s, cfg.worker_id, call_ids, now or utcnow(), cfg.lease_ttl_s)


# -- campaign lifecycle ----------------------------------------------------------------------------------------


async def advance_campaigns(db: Database, now: datetime | None = None) -> list[Campaign]:
    """Scheduled -> running; running with every lead final -> completed (queues the completion webhook).
    Answers the running campaigns, for the claim loop."""
    now = now or utcnow()
    async with db.sessions() as s:
        candidates = await repo.campaigns_in(s, (State.SCHEDULED.value, State.RUNNING.value))
    running: list[Campaign] = []
    for candidate in candidates:
        async with session_scope(db) as s:
            await ledger.lock_account(s, candidate.account_id)
            c = await s.get(Campaign, candidate.id, populate_existing=True)
            if c is None:
                continue
            if c.state == State.SCHEDULED.value:
                await campaigns.transition(s, c, State.RUNNING)
            if c.state != State.RUNNING.value:
                continue
            if await repo.open_lead_count(s, c.id) == 0 and await repo.lease_count(s, campaign_id=c.id) == 0:
                await campaigns.transition(s, c, State.COMPLETED)
                row = await repo.dispatch_row(s, c.id)
                if c.webhook_url and not row.completion_notified:
                    counts = await repo.lead_status_counts(s, c.id)
                    await outbox.enqueue(
                        s, c, "campaign.completed", {"completed_at": now.isoformat(), "leads": counts}, now
                    )
                row.completion_notified = True
                metrics.remove_campaign(c.id)
                continue
            metrics.set_campaign_queue_depth(c.id, await repo.due_count(s, c.id, now))
            running.append(c)
    return running
