"""The results query: leads in id order, a batch at a time, each with its latest call (only the columns exported:
a million calls' transcripts never leave the database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.calls.tables import Call
from control_api.leads.tables import Lead


@dataclass(frozen=True)
class ResultRow:
    lead_id: int
    name: str | None
    phone: int
    status: str
    attempts: int
    next_attempt_at: datetime | None
    call_id: str | None
    disposition: str | None
    outcome: str | None
    slots: dict[str, Any] | None
    callback_at: str | None
    duration_s: float | None


async def batch(session: AsyncSession, campaign_id: str, after_id: int, size: int) -> list[ResultRow]:
    leads = (
        await session.execute(
            select(Lead.id, Lead.name, Lead.phone, Lead.status, Lead.attempts, Lead.next_attempt_at)
            .where(Lead.campaign_id == campaign_id, Lead.id > after_id)
            .order_by(Lead.id)
            .limit(size)
        )
    ).all()
    if not leads:
        return []
    calls = (
        await session.execute(
            select(
                Call.lead_id,
                Call.id,
                Call.status,
                Call.outcome,
                Call.slots,
                Call.record["callback_at"].as_string(),
                Call.duration_s,
            )
            .where(Call.lead_id.in_([lead.id for lead in leads]))
            .order_by(Call.lead_id, Call.attempt, Call.created_at)
        )
    ).all()
    latest = {call[0]: call for call in calls}  # ordered by attempt: the last one per lead wins
    rows: list[ResultRow] = []
    for lead in leads:
        call = latest.get(lead.id)
        rows.append(
            ResultRow(
                lead_id=lead.id,
                name=lead.name,
                phone=lead.phone,
                status=lead.status,
                attempts=lead.attempts,
                next_attempt_at=lead.next_attempt_at,
                call_id=call[1] if call else None,
                disposition=call[2] if call else None,
                outcome=call[3] if call else None,
                slots=call[4] if call else None,
                callback_at=call[5] if call else None,
                duration_s=call[6] if call else None,
            )
        )
    return rows
