"""Campaign progress for the console: dialed, answered, qualified, opted out, remaining (read-only counts)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.storage.tables import Call, Lead

# Lead statuses that still await a dial (the dispatcher owns the values; these are the not-yet-final ones).
_OPEN_LEAD_STATUSES = ("pending", "queued", "scheduled", "retry", "dialing", "in_progress", "rescheduled")
# Call statuses meaning nobody picked up (everything else with a start time counts as answered).
_UNANSWERED = ("queued", "initiated", "ringing", "no_answer", "busy", "failed", "error", "canceled", "skipped")


@dataclass(frozen=True)
class Progress:
    leads: int = 0
    dialed: int = 0
    answered: int = 0
    qualified: int = 0
    opted_out: int = 0
    remaining: int = 0

    @property
    def percent_done(self) -> int:
        if self.leads == 0:
            return 0
        return round(100 * (self.leads - self.remaining) / self.leads)


async def campaign_progress(session: AsyncSession, account_id: str, campaign_ids: list[str]) -> dict[str, Progress]:
    """Progress of several campaigns in three grouped queries (not one per campaign)."""
    if not campaign_ids:
        return {}
    lead_rows = await session.execute(
        select(
            Lead.campaign_id,
            func.count(),
            func.count().filter(Lead.status.in_(_OPEN_LEAD_STATUSES)),
            func.count().filter(Lead.status == "opted_out"),
        )
        .where(Lead.account_id == account_id, Lead.campaign_id.in_(campaign_ids))
        .group_by(Lead.campaign_id)
    )
    leads = {row[0]: (int(row[1]), int(row[2]), int(row[3])) for row in lead_rows}
    call_rows = await session.execute(
        select(
            Call.campaign_id,
            func.count(distinct(Call.lead_id)).filter(Call.lead_id.is_not(None)),
            func.count(distinct(Call.lead_id)).filter(Call.started_at.is_not(None), Call.status.not_in(_UNANSWERED)),
            func.count(distinct(Call.lead_id)).filter(Call.outcome == "qualified"),
            func.count(distinct(Call.lead_id)).filter(Call.outcome == "opted_out"),
        )
        .where(Call.account_id == account_id, Call.campaign_id.in_(campaign_ids))
        .group_by(Call.campaign_id)
    )
    calls = {row[0]: (int(row[1]), int(row[2]), int(row[3]), int(row[4])) for row in call_rows}
    out: dict[str, Progress] = {}
    for cid in campaign_ids:
        total, remaining, lead_opted = leads.get(cid, (0, 0, 0))
        dialed, answered, qualified, call_opted = calls.get(cid, (0, 0, 0, 0))
        out[cid] = Progress(
            leads=total,
            dialed=dialed,
            answered=answered,
            qualified=qualified,
            opted_out=max(lead_opted, call_opted),
            remaining=remaining,
        )
    return out
