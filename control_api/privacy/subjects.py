"""Rights of the people who are called (DPDP s.11, s.12): access, correction and erasure of one phone number,
within the tenant that asks. Every request and its fulfilment is audited under the number's keyed pseudonym."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.audit import AuditContext, entries_for_subject, pseudonymize_phone
from control_api.calls.tables import Call
from control_api.dnd.tables import DndEntry
from control_api.errors import InvalidField, NotFound
from control_api.leads.row_rules import (
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    MAX_NAME,
    Reason,
    holds_nul,
    metadata_problem,
)
from control_api.leads.tables import Lead
from control_api.phones import parse_any, to_e164
from control_api.privacy import repository as repo
from control_api.privacy.audio_files import audio_paths, delete_audio
from control_api.privacy.storage_hygiene import begin_secure_delete


def parse_subject_phone(raw: str) -> int:
    digits = parse_any(raw)
    if digits is None:
        raise InvalidField("phone", "not a valid phone number (E.164, or an Indian number)")
    return digits


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def lead_doc(lead: Lead) -> dict[str, Any]:
    return {
        "id": lead.id,
        "campaign_id": lead.campaign_id,
        "phone": to_e164(lead.phone),
        "name": lead.name,
        "metadata": lead.extra,
        "consent": {
            "source": lead.consent_source,
            "at": _iso(lead.consent_at),
            "purpose": lead.consent_purpose,
            "attested_by": lead.consent_attested_by,
        },
        "status": lead.status,
        "attempts": lead.attempts,
        "created_at": _iso(lead.created_at),
    }


def call_doc(call: Call, data_dir: Path) -> dict[str, Any]:
    return {
        "id": call.id,
        "campaign_id": call.campaign_id,
        "lead_id": call.lead_id,
        "attempt": call.attempt,
        "status": call.status,
        "outcome": call.outcome,
        "started_at": _iso(call.started_at),
        "ended_at": _iso(call.ended_at),
        "duration_s": call.duration_s,
        "transcript": call.transcript,
        "slots": call.slots,
        "audio_files": [p.name for p in audio_paths(data_dir, call.id)],
        "created_at": _iso(call.created_at),
    }


def dnd_doc(entry: DndEntry) -> dict[str, Any]:
    return {
        "scope": "registry" if entry.scope == "registry" else "account",
        "blocked_all": entry.blocked_all,
        "categories": entry.categories,
        "time_bands": entry.time_bands,
        "source": entry.source,
        "created_at": _iso(entry.created_at),
    }


async def access(session: AsyncSession, ctx: AuditContext, raw_phone: str, data_dir: Path) -> dict[str, Any]:
    """Everything held about one number in this tenant, as one document (s.11)."""
    assert ctx.tenant_id is not None
    phone = parse_subject_phone(raw_phone)
    ref = pseudonymize_phone(to_e164(phone))
    leads = await repo.leads_by_phone(session, ctx.tenant_id, phone)
    calls = await repo.calls_for_leads(session, ctx.tenant_id, [lead.id for lead in leads])
    dnd = await repo.dnd_for_phone(session, ctx.tenant_id, phone)
    grievances = await repo.grievances_for_subject(session, ctx.tenant_id, ref)
    audit = await entries_for_subject(session, ctx.tenant_id, ref)
    doc = {
        "phone": to_e164(phone),
        "subject_ref": ref,
        "erased_before": await repo.is_erased(session, ctx.tenant_id, ref),
        "leads": [lead_doc(lead) for lead in leads],
        "calls": [call_doc(c, data_dir) for c in calls],
        "dnd_entries": [dnd_doc(d) for d in dnd],
        "grievances": [
            {"id": g.id, "status": g.status, "created_at": _iso(g.created_at), "due_at": _iso(g.due_at)}
            for g in grievances
        ],
        "audit_entries": audit,
    }
    await ctx.record(
        session,
        "subject.access",
        object_type="subject",
        subject_ref=ref,
        details={"leads": len(leads), "calls": len(calls), "audit_entries": len(audit)},
    )
    return doc


@dataclass
class Correction:
    name: str | None = None
    metadata: dict[str, Any] | None = None
    fields_set: set[str] = field(default_factory=set)


def check_correction(fix: Correction) -> None:
    """A corrected lead obeys the bounds of an uploaded one (``leads.row_rules``)."""
    if fix.name is not None:
        if len(fix.name) > MAX_NAME:
            raise InvalidField("name", f"name is longer than {MAX_NAME} characters")
        if "\x00" in fix.name:
            raise InvalidField("name", "name holds a NUL character (\\u0000)")
    if fix.metadata:
        encoded = msgspec.json.encode(fix.metadata)
        problem = metadata_problem(encoded)
        if problem is Reason.TOO_DEEP:
            raise InvalidField("metadata", f"metadata is nested deeper than {MAX_METADATA_DEPTH} levels")
        if problem is not None:
            raise InvalidField("metadata", f"metadata is larger than {MAX_METADATA_BYTES} bytes of JSON")
        if holds_nul(fix.metadata):
            raise InvalidField("metadata", "metadata holds a NUL character (\\u0000)")


async def correct(session: AsyncSession, ctx: AuditContext, raw_phone: str, fix: Correction) -> dict[str, Any]:
    """Correct name and metadata on every lead row of the number (s.12); audited with field names only."""
    assert ctx.tenant_id is not None
    if not fix.fields_set:
        raise InvalidField("body", "give at least one of: name, metadata")
    check_correction(fix)
    phone = parse_subject_phone(raw_phone)
    ref = pseudonymize_phone(to_e164(phone))
    leads = await repo.leads_by_phone(session, ctx.tenant_id, phone)
    if not leads:
        raise NotFound("subject")
    values: dict[str, Any] = {}
    if "name" in fix.fields_set:
        values["name"] = fix.name
    if "metadata" in fix.fields_set:
        values["extra"] = fix.metadata
    changed = await repo.correct_leads(session, [lead.id for lead in leads], values)
    for lead in leads:
        await session.refresh(lead)
    await ctx.record(
        session,
        "subject.correct",
        object_type="subject",
        subject_ref=ref,
        details={"fields": sorted(fix.fields_set), "leads": changed},
    )
    return {"subject_ref": ref, "leads": [lead_doc(lead) for lead in leads]}


@dataclass
class ErasureReport:
    subject_ref: str
    leads: int = 0
    calls: int = 0
    copies: int = 0
    suppression_entries: int = 0
    grievances_redacted: int = 0
    audio_files: int = 0
    call_ids: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "leads": self.leads,
            "calls": self.calls,
            "copies": self.copies,
            "suppression_entries": self.suppression_entries,
            "grievances_redacted": self.grievances_redacted,
            "audio_files": self.audio_files,
        }


async def erase(session: AsyncSession, ctx: AuditContext, raw_phone: str, data_dir: Path) -> ErasureReport:
    """Purge the number from this tenant (s.12): leads with their consent records, calls with transcripts and
    slots, payload copies, the client's own suppression row (replaced by the pseudonym in ``erased_subjects`` so
    the number is still never called again), and the calls' audio files. Files go first: if the transaction then
    fails the request is simply repeated, whereas a file left behind a committed erasure would never be found."""
    assert ctx.tenant_id is not None
    phone = parse_subject_phone(raw_phone)
    ref = pseudonymize_phone(to_e164(phone))
    await begin_secure_delete(session)
    leads = await repo.leads_by_phone(session, ctx.tenant_id, phone)
    lead_ids = [lead.id for lead in leads]
    calls = await repo.calls_for_leads(session, ctx.tenant_id, lead_ids)
    report = ErasureReport(subject_ref=ref, call_ids=[c.id for c in calls])
    report.audio_files = await delete_audio(data_dir, report.call_ids)
    report.copies = await repo.delete_dependents(session, call_ids=report.call_ids, lead_ids=lead_ids)
    report.calls = await repo.delete_calls(session, report.call_ids)
    report.leads = await repo.delete_leads(session, lead_ids)
    report.suppression_entries = await repo.delete_own_suppression(session, ctx.tenant_id, phone)
    report.grievances_redacted = await repo.redact_grievances(session, ctx.tenant_id, ref)
    await repo.record_erased(session, ctx.tenant_id, ref, datetime.now(UTC), suppressed=report.suppression_entries > 0)
    await session.flush()
    session.expunge_all()  # no stale ORM copy of an erased row may be flushed back
    await ctx.record(session, "subject.erase", object_type="subject", subject_ref=ref, details=report.counts())
    return report
