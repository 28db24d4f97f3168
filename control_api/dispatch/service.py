"""The dispatcher's orchestration: advance campaigns, claim due leads for a worker (caps, fraud guard, the
pre-dial checks of ``predial``, credit holds, leases), and settle finished or lost calls through ``settlement``.

Lock order, everywhere: the account row (``ledger.lock_account``), then lead/lease rows, then the audit chain
head. One order means two workers can wait on each other but never deadlock. Every transaction here takes the
account lock first; ``predial`` and ``settlement`` run inside those transactions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

import metrics
from control_api.audit import append
from control_api.audit.events import DISPATCHER_ACTOR
from control_api.calls.tables import Call
from control_api.campaigns import service as campaigns
from control_api.campaigns.calling_hours import CallingHours
from control_api.campaigns.lifecycle import State
from control_api.campaigns.tables import Campaign
from control_api.credits import fraud, ledger
from control_api.dispatch import predial, retry, settlement
from control_api.dispatch import repository as repo
from control_api.dispatch.dispositions import DIALING, FINAL_SKIPS, Disposition
from control_api.dispatch.settlement import CallResult, Closed
from control_api.dispatch.tables import DispatchLease
from control_api.leads.tables import Lead
from control_api.phones import to_e164
from control_api.storage.db import Database, session_scope
from control_api.storage.types import utcnow
from control_api.webhooks import outbox

BALANCE_LOW_REASON = "balance_low"


@dataclass(frozen=True)
class DispatchConfig:
    worker_id: str
    lease_ttl_s: float = 30.0
    account_concurrency: int = 20
    rate_per_second: int = 1
    limits: fraud.Limits = field(default_factory=lambda: fraud.Limits(2000, 2_000_000))
    hours: CallingHours = field(default_factory=CallingHours)  # every campaign window is clamped to these


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
    policy: str = "script"
    llm_profile: str | None = None  # the account's LLM endpoint; None: the deployment's
    record_audio: bool = False


@dataclass
class ClaimResult:
    jobs: list[DialJob] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    paused_reason: str | None = None


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


async def pause(s: AsyncSession, c: Campaign, reason: str, now: datetime) -> None:
    """Pause a running campaign with the reason (fraud guard, balance low); the client resumes it."""
    if c.state != State.RUNNING.value:
        return
    await campaigns.transition(s, c, State.PAUSED)
    row = await repo.dispatch_row(s, c.id)
    row.paused_reason, row.paused_at = reason, now
    await outbox.enqueue(s, c, "campaign.paused", {"paused_at": now.isoformat(), "reason": reason}, now)
    await append(
        s,
        actor=DISPATCHER_ACTOR,
        tenant_id=c.account_id,
        action="campaign.pause",
        object_type="campaign",
        object_id=c.id,
        outcome="success",
        details={"reason": reason},
        at=now,
    )


# -- claim -----------------------------------------------------------------------------------------------------


@dataclass
class _Round:
    """One claim's transaction: the campaign, the credit hold of one call, and what the round has leased so far."""

    s: AsyncSession
    cfg: DispatchConfig
    c: Campaign
    account_id: str
    hold: int
    free: int
    now: datetime
    started_by: str | None
    result: ClaimResult
    llm_profile: str | None = None


async def claim(
    db: Database, cfg: DispatchConfig, campaign_id: str, account_id: str, slots: int, now: datetime | None = None
) -> ClaimResult:
    """Lease up to ``slots`` due leads of one campaign for this worker, running the pre-dial checks in order.
    A suspended account's campaigns lease nothing (they stay running and resume when the suspension is lifted)."""
    result = ClaimResult()
    async with session_scope(db) as s:
        await ledger.lock_account(s, account_id)
        # The clock is read once the lock is held: a dial's recorded start is never before the slot it took freed.
        now = now or utcnow()
        c = await s.get(Campaign, campaign_id, populate_existing=True)
        if c is None or c.state != State.RUNNING.value:
            return result
        # Read under the account lock: a suspension committed before this claim stops every dial after it.
        suspended, llm_profile = await repo.dialing_account(s, account_id)
        if suspended:
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
        await _lease_due(_Round(s, cfg, c, account_id, hold, free, now, starter, result, llm_profile))
    _count(result)
    return result


async def _lease_due(r: _Round) -> None:
    for lead in await repo.due_leads(r.s, r.c.id, r.now, limit=r.free * 4 + 4):
        if len(r.result.jobs) >= r.free:
            break
        verdict = await predial.check(r.s, r.c, lead, r.now, r.cfg.hours)
        call_id = str(uuid.uuid4())
        disposition = verdict.disposition
        if disposition is None and not await ledger.reserve(r.s, r.account_id, call_id, r.hold):
            disposition = Disposition.BALANCE_LOW
        if disposition is None:
            await _dial(r, lead, verdict, call_id)
        elif not await _skip(r, lead, verdict, disposition, call_id):
            break


async def _skip(r: _Round, lead: Lead, verdict: predial.Verdict, disposition: Disposition, call_id: str) -> bool:
    """Record a lead the checks (or the balance) stopped; False when the round must stop (balance low)."""
    r.result.skipped[str(disposition)] = r.result.skipped.get(str(disposition), 0) + 1
    if disposition in FINAL_SKIPS:
        call_id = predial.end_lead(r.s, r.c, lead, disposition, r.now)
    await predial.audit(
        r.s, r.c, lead, verdict, call_id=call_id, outcome=str(disposition), started_by=r.started_by, now=r.now
    )
    if disposition is Disposition.BALANCE_LOW:
        await pause(r.s, r.c, BALANCE_LOW_REASON, r.now)
        r.result.paused_reason = BALANCE_LOW_REASON
        return False
    return True


async def _dial(r: _Round, lead: Lead, verdict: predial.Verdict, call_id: str) -> None:
    """Lease the lead to this worker (its credits are held) and open its call row."""
    c, now = r.c, r.now
    lead.attempts += 1
    lead.status = DIALING
    lead.next_attempt_reason = None
    r.s.add(
        DispatchLease(
            lead_id=lead.id,
            call_id=call_id,
            campaign_id=c.id,
            account_id=r.account_id,
            worker_id=r.cfg.worker_id,
            attempt=lead.attempts,
            reserved=r.hold,
            leased_at=now,
            heartbeat_at=now,
            expires_at=now + timedelta(seconds=r.cfg.lease_ttl_s),
        )
    )
    r.s.add(
        Call(
            id=call_id,
            account_id=r.account_id,
            campaign_id=c.id,
            lead_id=lead.id,
            attempt=lead.attempts,
            status=DIALING,
            created_at=now,
        )
    )
    await predial.audit(r.s, c, lead, verdict, call_id=call_id, outcome="dialed", started_by=r.started_by, now=now)
    r.result.jobs.append(
        DialJob(
            call_id=call_id,
            lead_id=lead.id,
            campaign_id=c.id,
            account_id=r.account_id,
            attempt=lead.attempts,
            phone=to_e164(lead.phone),
            name=lead.name or "there",
            metadata=dict(lead.extra or {}),
            script=call_script(c.script, c.retry, lead.attempts),
            max_call_s=c.max_call_seconds,
            caller_id=c.caller_id,
            policy=c.policy,
            llm_profile=r.llm_profile if c.policy == "llm" else None,
            record_audio=c.recording == "on",
        )
    )


def call_script(script: dict[str, Any], policy: dict[str, Any], attempt: int) -> dict[str, Any]:
    """The campaign's script as this dial may speak it: the voicemail message promises another call, so on a dial
    after which voicemail is not retried the agent leaves none (an honest hang-up, not a broken promise)."""
    spoken = dict(script)
    if not retry.leaves_voicemail_promise(policy, attempt):
        spoken["voicemail_message"] = None
    return spoken


def _count(result: ClaimResult) -> None:
    for skip, n in result.skipped.items():
        for _ in range(n):
            metrics.record_dispatch(skip)
            if skip == Disposition.DND_BLOCKED:
                metrics.record_dnd_block()
    for _ in result.jobs:
        metrics.record_dispatch("dialed")


# -- call end --------------------------------------------------------------------------------------------------


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
        closed = await settlement.close(s, lease, result, now, rate=cfg.rate_per_second, hours=cfg.hours)
    if closed.charged:
        metrics.record_credits_consumed(closed.charged)
    if closed.lead_status == "retry":
        metrics.record_dispatch("rescheduled")
    return closed


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
            lost = CallResult(Disposition.ERROR, error="lease expired: worker lost")
            await settlement.close(s, lease, lost, now, rate=cfg.rate_per_second, hours=cfg.hours)
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
