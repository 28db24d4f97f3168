"""Call pages: one finished call (conversation, outcome, slots, recording, latency chart) and the live view."""

from __future__ import annotations

from typing import Any, cast

from litestar import Controller, Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import File, Template
from litestar.types import ControllerRouterHandler

from config.settings import Settings
from control_api.calls import recordings
from control_api.calls import service as calls_service
from control_api.calls.live_feed import LiveFeed
from control_api.campaigns import service as campaigns_service
from control_api.console.auth import ConsolePrincipal, require_sign_in
from control_api.console.context import page
from control_api.console.latency_chart import build_chart
from control_api.console.live import LiveCalls
from control_api.deps import Session
from control_api.leads import service as leads_service
from control_api.privacy.audio_files import audio_paths


def _data_dir(request: Request[Any, Any, Any]) -> Any:
    return cast(Settings, request.app.state.settings).data_dir


class CallPages(Controller):
    path = "/calls"
    guards = [require_sign_in]

    @get("/{call_id:str}")
    async def detail(
        self, call_id: FromPath[str], request: Request[Any, Any, Any], principal: ConsolePrincipal, session: Session
    ) -> Template:
        call = await calls_service.get_call(session, principal, call_id)
        campaign = await campaigns_service.get_owned(session, principal, call.campaign_id)
        transcript = call.transcript or []
        return page(
            request,
            "call.html",
            principal=principal,
            section="campaigns",
            call=call,
            campaign=campaign,
            lead_name=await leads_service.lead_name(session, principal, call.lead_id),
            transcript=transcript,
            interruptions=sum(1 for t in transcript if t.get("interrupted")),
            chart=build_chart(call.turns),
            has_audio=bool(audio_paths(_data_dir(request), call.id)),
            recording=call.recording,
        )

    @get("/{call_id:str}/audio")
    async def audio(
        self, call_id: FromPath[str], request: Request[Any, Any, Any], principal: ConsolePrincipal, session: Session
    ) -> File | Response[bytes]:
        """The player's source: what ``GET /v1/calls/{id}/recording`` serves, with byte ranges so it can seek."""
        answer = await recordings.recording(
            session, principal, call_id, _data_dir(request), request.headers.get("range")
        )
        return recordings.as_response(answer)


class LivePages(Controller):
    path = "/live"
    guards = [require_sign_in]

    @get("/")
    async def live_page(
        self, request: Request[Any, Any, Any], principal: ConsolePrincipal, live_calls: LiveCalls, session: Session
    ) -> Template:
        calls = await live_calls.running(session, principal)
        return page(request, "live.html", principal=principal, section="live", calls=calls)

    @get("/calls.json")
    async def live_calls_json(
        self,
        request: Request[Any, Any, Any],
        principal: ConsolePrincipal,
        live_calls: LiveCalls,
        session: Session,
        wait: FromQuery[bool] = False,
    ) -> dict[str, Any]:
        """``wait``: hold the answer until a worker publishes progress of the account's calls (at most a second).
        ``prompt`` tells the page whether the server can do that (PostgreSQL) so it asks again at once, or whether
        it should wait a second between polls."""
        feed: LiveFeed | None = getattr(request.app.state, "live_feed", None)
        if wait and feed is not None:
            await feed.changed(principal.account_id)
        prompt = feed is not None and feed.listening
        return {"calls": await live_calls.running(session, principal), "prompt": prompt}

    @get("/calls/{call_id:str}")
    async def live_call(
        self, call_id: FromPath[str], principal: ConsolePrincipal, live_calls: LiveCalls
    ) -> dict[str, Any]:
        call = live_calls.get(principal.account_id, call_id)
        if call is None:
            raise NotFoundException("no call in progress with that id")
        return call.view()


def route_handlers() -> list[ControllerRouterHandler]:
    return [CallPages, LivePages]
