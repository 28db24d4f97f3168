"""Typed helpers for audit events other areas write often, so every entry of a kind has the same shape."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from control_api.audit.log import AppendedEntry, append
from control_api.audit.pseudonym import pseudonymize_phone

DISPATCHER_ACTOR = "system:dispatcher"


async def audit_dispatch(
    session: AsyncSession,
    *,
    tenant_id: str,
    campaign_id: str,
    call_id: str | None,
    phone: str,
    consent_ok: bool,
    dnd_allowed: bool,
    dnd_reason: str | None = None,
    skipped_reason: str | None = None,
    actor: str = DISPATCHER_ACTOR,
) -> AppendedEntry:
    """One dispatch decision with its consent and DND check results (``call.dispatch``, or ``call.skip`` with
    outcome ``denied`` when a pre-dial check stopped it). The number goes in only as its keyed pseudonym."""
    skipped = skipped_reason is not None or not consent_ok or not dnd_allowed
    return await append(
        session,
        actor=actor,
        tenant_id=tenant_id,
        action="call.skip" if skipped else "call.dispatch",
        object_type="call",
        object_id=call_id,
        outcome="denied" if skipped else "success",
        subject_ref=pseudonymize_phone(phone),
        details={
            "campaign_id": campaign_id,
            "consent_ok": consent_ok,
            "dnd_allowed": dnd_allowed,
            "dnd_reason": dnd_reason,
            "skipped_reason": skipped_reason,
        },
    )
