"""The pre-dial checks, in the order they run (the first that fails is the lead's disposition), the call row of a
lead a check ended, and the audit entry of every dial or skip with what the checks found.

Everything here runs inside the claim's transaction, after the account row is locked (the lock order is in
``control_api.dispatch.service``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from control_api.audit import append, pseudonymize_phone
from control_api.audit.events import DISPATCHER_ACTOR
from control_api.calls.tables import Call
from control_api.campaigns.calling_hours import CallingHours
from control_api.campaigns.tables import Campaign
from control_api.dispatch import window
from control_api.dispatch.dispositions import Disposition
from control_api.dispatch.retry import Reason
from control_api.dnd import service as dnd
from control_api.dnd.preferences import BlockReason, zone_of
from control_api.leads.tables import Lead
from control_api.phones import normalise, to_e164

# A DND time band that excludes "now", or a stored window wholly outside the legal hours, is not a refusal of
# the lead: look again after this long.
TIME_BAND_RECHECK = timedelta(minutes=30)


@dataclass(frozen=True)
class Verdict:
    """The first failing check's disposition (None: the lead may be dialed) and what the audit entry records of
    the checks that ran. Balance is not among them: the claim checks it when it reserves."""

    disposition: Disposition | None
    consent_ok: bool | None = None
    dnd: dnd.DndVerdict | None = None


def _consent_ok(lead: Lead, now: datetime) -> bool:
    return bool(lead.consent_source and lead.consent_purpose and lead.consent_attested_by) and lead.consent_at <= now


def _number_ok(lead: Lead) -> bool:
    return isinstance(normalise(to_e164(lead.phone)), int)


async def check(s: AsyncSession, c: Campaign, lead: Lead, now: datetime, hours: CallingHours) -> Verdict:
    """invalid_number, consent_missing, dnd_blocked, outside_window: the first that fails. A lead that only has
    to wait (a DND time band, the campaign's window within the legal ``hours``) gets its ``next_attempt_at``."""
    if not _number_ok(lead):
        return Verdict(Disposition.INVALID_NUMBER)
    if not _consent_ok(lead, now):
        return Verdict(Disposition.CONSENT_MISSING, consent_ok=False)
    verdict = await dnd.check(s, lead.phone, c.category, account_id=c.account_id, at=now)
    if not verdict.allowed:
        if verdict.reason == BlockReason.OUTSIDE_TIME_BAND:
            _wait(lead, now + TIME_BAND_RECHECK, Reason.TIME_BAND)
            return Verdict(Disposition.OUTSIDE_WINDOW, consent_ok=True, dnd=verdict)
        return Verdict(Disposition.DND_BLOCKED, consent_ok=True, dnd=verdict)
    # Whatever the row says, only the part of its window inside the legal hours may dial.
    clamped = hours.clamp(c.window_start, c.window_end)
    if clamped is None:  # wholly outside: nothing dials until the client changes the window
        _wait(lead, now + TIME_BAND_RECHECK, Reason.WINDOW)
        return Verdict(Disposition.OUTSIDE_WINDOW, consent_ok=True, dnd=verdict)
    start, end = clamped
    zone = zone_of(lead.phone)
    if not window.inside(zone, now, start, end, list(c.days)):
        _wait(lead, window.next_opening(zone, now, start, end, list(c.days)), Reason.WINDOW)
        return Verdict(Disposition.OUTSIDE_WINDOW, consent_ok=True, dnd=verdict)
    return Verdict(None, consent_ok=True, dnd=verdict)


def _wait(lead: Lead, until: datetime, reason: str) -> None:
    lead.next_attempt_at = until
    if lead.next_attempt_reason != Reason.CALLBACK:  # a callback moved to the window's opening is still a callback
        lead.next_attempt_reason = reason


def end_lead(s: AsyncSession, c: Campaign, lead: Lead, disposition: Disposition, now: datetime) -> str:
    """A final skip ends the lead: its status becomes the disposition and a call row (never dialed) records it.
    Answers that call's id."""
    call_id = str(uuid.uuid4())
    lead.status = str(disposition)
    lead.next_attempt_at = lead.next_attempt_reason = None
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


def _window_text(c: Campaign) -> str:
    return f"{c.window_start}-{c.window_end} {','.join(c.days)}"


async def audit(
    s: AsyncSession,
    c: Campaign,
    lead: Lead,
    verdict: Verdict,
    *,
    call_id: str,
    outcome: str,
    started_by: str | None,
    now: datetime,
) -> None:
    """``call.dispatch`` when ``outcome`` is "dialed", else ``call.skip`` (denied), with the checks' results."""
    skipped = outcome != "dialed"
    await append(
        s,
        actor=DISPATCHER_ACTOR,
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
            "consent_ok": verdict.consent_ok,
            "dnd_allowed": None if verdict.dnd is None else verdict.dnd.allowed,
            "dnd_reason": None if verdict.dnd is None else verdict.dnd.reason,
            "window": _window_text(c),
            "lead_local_time": now.astimezone(zone_of(lead.phone)).strftime("%a %H:%M"),
            "disposition": outcome,
        },
        at=now,
    )
