"""/v1/campaigns/{id}/calls, /v1/calls?state=live, /v1/calls/{id} and /v1/calls/{id}/recording."""

from __future__ import annotations

from typing import Annotated, Any, cast

from litestar import Controller, Request, Response, get
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import File

from config.settings import Settings
from control_api.accounts.auth import Caller
from control_api.accounts.policy import Access, access
from control_api.calls import recordings, service
from control_api.calls.schemas import CallDetail, CallPage, LiveCallPage
from control_api.deps import Session
from control_api.pagination import DEFAULT_LIMIT, MAX_LIMIT

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="page size")]


class CallController(Controller):
    path = "/"
    tags = ["calls"]

    @get("/campaigns/{campaign_id:str}/calls")
    async def list_calls(
        self,
        campaign_id: FromPath[str],
        principal: Caller,
        session: Session,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> CallPage:
        return await service.list_calls(session, principal, campaign_id, limit, cursor)

    @get("/calls")
    async def list_calls_by_state(
        self,
        principal: Caller,
        session: Session,
        state_filter: Annotated[
            str | None, QueryParameter(name="state", description="live: the calls in progress on every worker")
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> LiveCallPage:
        """The account's calls in progress on every worker, as their workers last published them (about once a
        second): state, turns so far and the last line spoken. A call leaves the list when it ends."""
        return await service.list_by_state(session, principal, state_filter, limit, cursor)

    @get("/calls/{call_id:str}")
    async def get_call(self, call_id: FromPath[str], principal: Caller, session: Session) -> CallDetail:
        """One call: transcript, per-turn latency, outcome, slots."""
        return await service.get_call(session, principal, call_id)

    @get("/calls/{call_id:str}/recording", opt=access(Access.ANY), media_type="audio/ogg")
    async def get_recording(
        self, call_id: FromPath[str], request: Request[Any, Any, Any], principal: Caller, session: Session
    ) -> File | Response[bytes]:
        """The call's recording: stereo Ogg/Opus, the lead on the left, the agent on the right, from the moment the
        call was answered. ``Range: bytes=...`` gets 206 with that part (a player seeks), 416 past the end. The
        owning client only (another tenant's call is 404) and the platform operator (audited)."""
        data_dir = cast(Settings, request.app.state.settings).data_dir
        answer = await recordings.recording(session, principal, call_id, data_dir, request.headers.get("range"))
        return recordings.as_response(answer)
