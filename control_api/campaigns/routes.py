"""/v1/campaigns: thin handlers over ``campaigns.service``."""

from __future__ import annotations

from typing import Annotated, Any, cast

from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from config.settings import Settings
from control_api.accounts.auth import Caller
from control_api.campaigns import service
from control_api.campaigns.lifecycle import State
from control_api.campaigns.schemas import CampaignCreate, CampaignPage, CampaignUpdate, CampaignView
from control_api.deps import Session
from control_api.limits.hooks import EXPENSIVE, OPT
from control_api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from control_api.webhooks.destination import Network, parse_networks

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="page size")]


def _webhook_networks(request: Request[Any, Any, Any]) -> tuple[Network, ...]:
    return parse_networks(cast(Settings, request.app.state.settings).webhook_allowed_networks)


class CampaignController(Controller):
    path = "/campaigns"
    tags = ["campaigns"]

    @post("/")
    async def create_campaign(
        self, data: JSONBody[CampaignCreate], request: Request[Any, Any, Any], principal: Caller, session: Session
    ) -> CampaignView:
        """Create a campaign in state ``draft``; its TRAI category comes from the script. A ``webhook_url`` must be
        http(s) to a public address."""
        return await service.create(session, principal, data, _webhook_networks(request))

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
    async def get_campaign(self, campaign_id: FromPath[str], principal: Caller, session: Session) -> CampaignView:
        return service.view(await service.get_owned(session, principal, campaign_id))

    @patch("/{campaign_id:str}")
    async def update_campaign(
        self,
        campaign_id: FromPath[str],
        data: JSONBody[CampaignUpdate],
        request: Request[Any, Any, Any],
        principal: Caller,
        session: Session,
    ) -> CampaignView:
        return await service.update(session, principal, campaign_id, data, _webhook_networks(request))

    @post("/{campaign_id:str}/start", status_code=200, opt={OPT: EXPENSIVE})
    async def start(self, campaign_id: FromPath[str], principal: Caller, session: Session) -> CampaignView:
        """draft -> scheduled (the dispatcher moves it to running inside the calling window)."""
        return await service.act(session, principal, campaign_id, "start")

    @post("/{campaign_id:str}/pause", status_code=200)
    async def pause(self, campaign_id: FromPath[str], principal: Caller, session: Session) -> CampaignView:
        return await service.act(session, principal, campaign_id, "pause")

    @post("/{campaign_id:str}/resume", status_code=200)
    async def resume(self, campaign_id: FromPath[str], principal: Caller, session: Session) -> CampaignView:
        return await service.act(session, principal, campaign_id, "resume")

    @post("/{campaign_id:str}/cancel", status_code=200)
    async def cancel(self, campaign_id: FromPath[str], principal: Caller, session: Session) -> CampaignView:
        return await service.act(session, principal, campaign_id, "cancel")


__all__ = ["CampaignController", "State"]
