"""Settling a call that ended, or whose worker was lost: charge the billed seconds and release the rest of the
hold in the ledger, record the call's result, decide the lead's next attempt, audit ``call.end`` and queue the
``call.ended`` webhook.

Everything here runs inside the caller's transaction, after the account row is locked (the lock order is in
``control_api.dispatch.service``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from control_api.audit import append, pseudonymize_phone
from control_api.audit.events import DISPATCHER_ACTOR
from control_api.calls.tables import Call
from control_api.campaigns.calling_hours import CallingHours
from control_api.campaigns.tables import Campaign
from control_api.credits import ledger
from control_api.dispatch import repository as repo
from control_api.dispatch import retry, window
from control_api.dispatch.dispositions import RETRY, Disposition
from control_api.dispatch.retry import Reason
from control_api.dispatch.tables import DispatchLease
from control_api.dnd.preferences import zone_of
from control_api.leads.tables import Lead
from control_api.phones import to_e164
from control_api.webhooks import outbox
from engine.records import CallRecord

# Nothing was said on these: no record to keep, no seconds to bill.
_UNANSWERED = (Disposition.NO_ANSWER, Disposition.BUSY, Disposition.FAILED)


@dataclass(frozen=True)
class CallResult:
    disposition: Disposition
    outcome: str | None = None
    record: CallRecord | None = None  # what the engine recorded, for answered calls
    error: str | None = None
    # Set when the carrier was out and the dial never reached the lead: the lead keeps its attempt and is dialed
    # again after this many seconds, whatever the retry policy says (the policy is about the lead's answers).
    carrier_outage_retry_s: float | None = None


@dataclass(frozen=True)
class Closed:
    disposition: Disposition
    lead_status: str
    charged: int


@dataclass(frozen=True)
class _Ended:
    """What the audit entry and the webhook both report of a settled call."""

    lease: DispatchLease
    result: CallResult
    settlement: ledger.Settlement
    lead_status: str


async def close(
    s: AsyncSession, lease: DispatchLease, result: CallResult, now: datetime, *, rate: int, hours: CallingHours
) -> Closed:
    """Settle the call of ``lease`` and drop the lease; ``rate`` is credits per second, ``hours`` the legal
    calling hours a callback is placed within."""
    c = await s.get(Campaign, lease.campaign_id)
    assert c is not None  # campaigns cascade to their leases
    lead = await s.get(Lead, lease.lead_id)
    call = await s.get(Call, lease.call_id)
    record = result.record if result.disposition not in _UNANSWERED else None
    duration = record.duration_s if record is not None else 0.0
    settlement = await ledger.settle(
        s,
        lease.account_id,
        lease.call_id,
        reserved=lease.reserved,
        duration_s=duration,
        max_call_s=c.max_call_seconds,
        rate=rate,
    )
    if lead is None or call is None:
        # Erased (data-principal request) while the call ran: settle the money, keep nothing about the person.
        await repo.drop_lease(s, lease.lead_id)
        return Closed(disposition=result.disposition, lead_status="erased", charged=settlement.charged)
    _record_result(call, result, record, duration, now)
    await s.flush()
    if result.carrier_outage_retry_s is not None:
        decision = _not_placed(lead, result.carrier_outage_retry_s, now)
    else:
        decision = retry.decide(
            c.retry,
            attempts=lead.attempts,
            errors=await repo.errored_attempts(s, lead.id),
            disposition=result.disposition,
            outcome=result.outcome,
            callback_at=record.callback_at if record is not None else None,
            now=now,
        )
    lead.status = decision.status
    lead.next_attempt_at, lead.next_attempt_reason = decision.next_attempt_at, decision.reason
    if decision.reason == Reason.CALLBACK and decision.next_attempt_at is not None:
        # Shown to the client as the time the lead will be called: inside the window (and the legal hours).
        clamped = hours.clamp(c.window_start, c.window_end)
        if clamped is not None:
            lead.next_attempt_at = window.next_opening(
                zone_of(lead.phone), decision.next_attempt_at, *clamped, list(c.days)
            )
    await repo.drop_lease(s, lead.id)
    ended = _Ended(lease=lease, result=result, settlement=settlement, lead_status=decision.status)
    await _audit_end(s, c, lead, call, ended, now)
    if c.webhook_url:
        await _notify(s, c, lead, call, ended, now)
    return Closed(disposition=result.disposition, lead_status=decision.status, charged=settlement.charged)


def _not_placed(lead: Lead, retry_in_s: float, now: datetime) -> retry.Decision:
    """The carrier never rang the lead: the attempt is given back (the call row stays, as ``failed`` with the
    carrier's error, for the record) and the lead waits for the carrier to come back."""
    lead.attempts = max(0, lead.attempts - 1)
    return retry.Decision(status=RETRY, next_attempt_at=now + timedelta(seconds=retry_in_s), reason=Reason.CARRIER)


def _record_result(call: Call, result: CallResult, answered: CallRecord | None, duration: float, now: datetime) -> None:
    """The call row's result; what was said (``answered``) only when the call was answered. The record becomes
    JSON here, where it is stored."""
    call.status = str(result.disposition)
    call.outcome = result.outcome
    call.ended_at = now
    call.duration_s = duration if answered is not None else None
    if answered is not None:
        data = answered.to_dict()
        call.started_at = datetime.fromisoformat(answered.started_at) if answered.started_at else None
        call.transcript = data["transcript"]
        call.turns = data["turns"]
        call.slots = data["slots"]
        call.record = data
    call.error = result.error or (answered.error if answered is not None else None)


async def _audit_end(s: AsyncSession, c: Campaign, lead: Lead, call: Call, ended: _Ended, now: datetime) -> None:
    result = ended.result
    await append(
        s,
        actor=DISPATCHER_ACTOR,
        tenant_id=c.account_id,
        action="call.end",
        object_type="call",
        object_id=call.id,
        outcome="error" if result.disposition is Disposition.ERROR else "success",
        subject_ref=pseudonymize_phone(to_e164(lead.phone)),
        details={
            "campaign_id": c.id,
            "lead_id": str(lead.id),
            "attempt": ended.lease.attempt,
            "disposition": str(result.disposition),
            "outcome": result.outcome,
            "billed_seconds": ended.settlement.billed_seconds,
            "charged": ended.settlement.charged,
            "lead_status": ended.lead_status,
        },
        at=now,
    )


async def _notify(s: AsyncSession, c: Campaign, lead: Lead, call: Call, ended: _Ended, now: datetime) -> None:
    result = ended.result
    await outbox.enqueue(
        s,
        c,
        "call.ended",
        {
            "call_id": call.id,
            "lead_id": lead.id,
            "attempt": ended.lease.attempt,
            "disposition": str(result.disposition),
            "outcome": result.outcome,
            "slots": call.slots or {},
            "callback_at": result.record.callback_at if result.record is not None else None,
            # a hand-off to a salesperson: its number masked, the mode, and whether the lead reached them
            "transfer": result.record.transfer if result.record is not None else None,
            "duration_s": call.duration_s,
            "billed_seconds": ended.settlement.billed_seconds,
            "credits_charged": ended.settlement.charged,
            "lead_status": ended.lead_status,
            "ended_at": now.isoformat(),
        },
        now,
    )
