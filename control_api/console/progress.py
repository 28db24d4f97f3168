"""Campaign progress for the console: dialed, answered, qualified, opted out, remaining (read-only counts)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.calls.tables import Call
from control_api.dispatch.dispositions import OPEN_STATUSES, PRE_DIAL_ORDER, WAITING_SKIPS, Disposition
from control_api.leads.tables import Lead

# The dispatcher owns the statuses: a lead is still to be dialed while open or waiting (next window, a top-up).
_REMAINING = sorted({*OPEN_STATUSES, *(str(d) for d in WAITING_SKIPS)})
# Pre-dial skips are filed as calls too, but nothing was dialed.
_NOT_DIALED = [str(d) for d in PRE_DIAL_ORDER]
# A person picked up: the conversation ran (to its end, or until they hung up).
_ANSWERED = [str(Disposition.COMPLETED), str(Disposition.HUNG_UP)]


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
            func.count().filter(Lead.status.in_(_REMAINING)),
        )
        .where(Lead.account_id == account_id, Lead.campaign_id.in_(campaign_ids))
        .group_by(Lead.campaign_id)
    )
    leads = {row[0]: (int(row[1]), int(row[2])) for row in lead_rows}
    call_rows = await session.execute(
        select(
            Call.campaign_id,
            func.count(distinct(Call.lead_id)).filter(Call.status.not_in(_NOT_DIALED)),
            func.count(distinct(Call.lead_id)).filter(Call.status.in_(_ANSWERED)),
            func.count(distinct(Call.lead_id)).filter(Call.outcome == "qualified"),
            func.count(distinct(Call.lead_id)).filter(Call.outcome == "opted_out"),
        )
        # Test calls from the console have no lead: they are not campaign progress.
        .where(Call.account_id == account_id, Call.campaign_id.in_(campaign_ids), Call.lead_id.is_not(None))
        .group_by(Call.campaign_id)
    )
    calls = {row[0]: (int(row[1]), int(row[2]), int(row[3]), int(row[4])) for row in call_rows}
    out: dict[str, Progress] = {}
    for cid in campaign_ids:
        total, remaining = leads.get(cid, (0, 0))
        dialed, answered, qualified, opted_out = calls.get(cid, (0, 0, 0, 0))
        out[cid] = Progress(
            leads=total,
            dialed=dialed,
            answered=answered,
            qualified=qualified,
            opted_out=opted_out,
            remaining=remaining,
        )
    return out
