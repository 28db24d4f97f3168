"""/v1/campaigns: thin handlers over ``campaigns.service``."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from control_api.accounts.auth import Caller
from control_api.campaigns import service
from control_api.campaigns.lifecycle import State
from control_api.campaigns.rules import Rules
from control_api.campaigns.schemas import CampaignCreate, CampaignPage, CampaignUpdate, CampaignView
from control_api.deps import Session
from control_api.limits.hooks import EXPENSIVE, OPT
from control_api.pagination import DEFAULT_LIMIT, MAX_LIMIT

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="page size")]


class CampaignController(Controller):
    path = "/campaigns"
    tags = ["campaigns"]

    @post("/")
    async def create_campaign(
        self, data: JSONBody[CampaignCreate], principal: Caller, session: Session, campaign_rules: Rules
    ) -> CampaignView:
        """Create a campaign in state ``draft``; its TRAI category comes from the script. The calling window must
        lie within the legal calling hours (09:00-21:00 unless the operator set otherwise); a ``webhook_url`` must
        be http(s) to a public address."""
        return await service.create(session, principal, data, campaign_rules)

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
        self, campaign_id: FromPath[str], principal: Caller, session: Session, campaign_rules: Rules
    ) -> CampaignView:
        """The campaign, with ``dispatch``: whether it is dialing now, and if not why and until when."""
        campaign = await service.get_owned(session, principal, campaign_id)
        return await service.view_with_dispatch(session, campaign, campaign_rules.hours)

    @patch("/{campaign_id:str}")
    async def update_campaign(
        self,
        campaign_id: FromPath[str],
        data: JSONBody[CampaignUpdate],
        principal: Caller,
        session: Session,
        campaign_rules: Rules,
    ) -> CampaignView:
        return await service.update(session, principal, campaign_id, data, campaign_rules)

    @post("/{campaign_id:str}/start", status_code=200, opt={OPT: EXPENSIVE})
    async def start(
        self, campaign_id: FromPath[str], principal: Caller, session: Session, campaign_rules: Rules
    ) -> CampaignView:
        """draft -> scheduled (the dispatcher moves it to running inside the calling window). 409 naming
        ``balance`` when the account has no credits."""
        return await service.act(session, principal, campaign_id, "start", campaign_rules.hours)

    @post("/{campaign_id:str}/pause", status_code=200)
    async def pause(
        self, campaign_id: FromPath[str], principal: Caller, session: Session, campaign_rules: Rules
    ) -> CampaignView:
        return await service.act(session, principal, campaign_id, "pause", campaign_rules.hours)

    @post("/{campaign_id:str}/resume", status_code=200)
    async def resume(
        self, campaign_id: FromPath[str], principal: Caller, session: Session, campaign_rules: Rules
    ) -> CampaignView:
        """paused -> running; 409 naming ``balance`` when the account has no credits."""
        return await service.act(session, principal, campaign_id, "resume", campaign_rules.hours)

    @post("/{campaign_id:str}/cancel", status_code=200)
    async def cancel(
        self, campaign_id: FromPath[str], principal: Caller, session: Session, campaign_rules: Rules
    ) -> CampaignView:
        return await service.act(session, principal, campaign_id, "cancel", campaign_rules.hours)


__all__ = ["CampaignController", "State"]
