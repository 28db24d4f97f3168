"""/v1/campaigns: thin handlers over ``campaigns.service``."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from control_api.accounts.auth import Caller
from control_api.campaigns import service
from control_api.campaigns.calling_hours import LegalHours
from control_api.campaigns.lifecycle import State
from control_api.campaigns.schemas import CampaignCreate, CampaignPage, CampaignUpdate, CampaignView
from control_api.deps import Session
from control_api.pagination import DEFAULT_LIMIT, MAX_LIMIT

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="page size")]


class CampaignController(Controller):
    path = "/campaigns"
    tags = ["campaigns"]

    @post("/")
    async def create_campaign(
        self, data: JSONBody[CampaignCreate], principal: Caller, session: Session, calling_hours: LegalHours
    ) -> CampaignView:
        """Create a campaign in state ``draft``; its TRAI category comes from the script. The calling window must
        lie within the legal calling hours (09:00-21:00 unless the operator set otherwise)."""
        return await service.create(session, principal, data, calling_hours)

    @get("/")
    async def list_campaigns(
        self,
        principal: Caller,
        session: Session,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
        state_filter: Annotated[
            str | None, QueryParameter(name="state", description="one of " + ", ".join(s.value for s in State))
        ] = None,
    ) -> CampaignPage:
        return await service.list_campaigns(session, principal, limit, cursor, state_filter)

    @get("/{campaign_id:str}")
    async def get_campaign(
        self, campaign_id: FromPath[str], principal: Caller, session: Session, calling_hours: LegalHours
    ) -> CampaignView:
        """The campaign, with ``dispatch``: whether it is dialing now, and if not why and until when."""
        campaign = await service.get_owned(session, principal, campaign_id)
        return await service.view_with_dispatch(session, campaign, calling_hours)

    @patch("/{campaign_id:str}")
    async def update_campaign(
        self,
        campaign_id: FromPath[str],
        data: JSONBody[CampaignUpdate],
        principal: Caller,
        session: Session,
        calling_hours: LegalHours,
    ) -> CampaignView:
        return await service.update(session, principal, campaign_id, data, calling_hours)

    @post("/{campaign_id:str}/start", status_code=200)
    async def start(
        self, campaign_id: FromPath[str], principal: Caller, session: Session, calling_hours: LegalHours
    ) -> CampaignView:
        """draft -> scheduled (the dispatcher moves it to running inside the calling window). 409 naming
        ``balance`` when the account has no credits."""
        return await service.act(session, principal, campaign_id, "start", calling_hours)

    @post("/{campaign_id:str}/pause", status_code=200)
    async def pause(
        self, campaign_id: FromPath[str], principal: Caller, session: Session, calling_hours: LegalHours
    ) -> CampaignView:
        return await service.act(session, principal, campaign_id, "pause", calling_hours)

    @post("/{campaign_id:str}/resume", status_code=200)
    async def resume(
        self, campaign_id: FromPath[str], principal: Caller, session: Session, calling_hours: LegalHours
    ) -> CampaignView:
        """paused -> running; 409 naming ``balance`` when the account has no credits."""
        return await service.act(session, principal, campaign_id, "resume", calling_hours)

    @post("/{campaign_id:str}/cancel", status_code=200)
    async def cancel(
        self, campaign_id: FromPath[str], principal: Caller, session: Session, calling_hours: LegalHours
    ) -> CampaignView:
        return await service.act(session, principal, campaign_id, "cancel", calling_hours)


__all__ = ["CampaignController", "State"]
