"""GET /v1/campaigns/{id}/dispatch: how far a campaign is (leads by status, calls in progress, pause reason)."""

from __future__ import annotations

import msgspec
from litestar import get
from litestar.params import FromPath
from litestar.types import ControllerRouterHandler

from control_api.accounts.auth import Caller
from control_api.campaigns import service as campaigns
from control_api.deps import Session
from control_api.dispatch import repository as repo
from control_api.dispatch.dispositions import OPEN_STATUSES
from control_api.dispatch.tables import CampaignDispatch


class DispatchStatus(msgspec.Struct):
    campaign_id: str
    state: str
    paused_reason: str | None
    leads: dict[str, int]  # by status: pending, retry, dialing, or a final disposition
    open_leads: int
    calls_in_progress: int


@get("/campaigns/{campaign_id:str}/dispatch", tags=["campaigns"])
async def dispatch_status(campaign_id: FromPath[str], principal: Caller, session: Session) -> DispatchStatus:
    """Progress of a campaign's dispatch; ``paused_reason`` says why the dispatcher paused it (fraud guard,
    balance low)."""
    c = await campaigns.get_owned(session, principal, campaign_id)
    counts = await repo.lead_status_counts(session, c.id)
    row = await session.get(CampaignDispatch, c.id)
    return DispatchStatus(
        campaign_id=c.id,
        state=c.state,
        paused_reason=row.paused_reason if row is not None and c.state == "paused" else None,
        leads=counts,
        open_leads=sum(n for status, n in counts.items() if status in OPEN_STATUSES),
        calls_in_progress=await repo.lease_count(session, campaign_id=c.id),
    )


def route_handlers() -> list[ControllerRouterHandler]:
    return [dispatch_status]
