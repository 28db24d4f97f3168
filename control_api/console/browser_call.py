"""The browser test call: talk to a campaign's agent over WebRTC before spending credits on real calls.

Signalling is one POST (offer in, answer out). The call then runs through the engine's ``serve_call``, the same
pipeline as a phone call, with the campaign's own script; its record is filed in the engine's call directory and
stored as one of the campaign's calls (no lead: a test call is nobody's personal data), so it opens like any other.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody
from litestar.response import Template
from litestar.types import ControllerRouterHandler
from loguru import logger
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts.service import Principal
from control_api.accounts.tables import Account
from control_api.calls.tables import Call
from control_api.campaigns import service as campaigns_service
from control_api.console.auth import ConsolePrincipal, require_sign_in
from control_api.console.context import page
from control_api.console.live import LiveCall, LiveCalls
from control_api.deps import Session
from control_api.errors import InvalidField
from control_api.storage.db import Database, session_scope
from engine.facade import Engine
from engine.records import CallRecord, CallRequest, Lead

if TYPE_CHECKING:
    from engine.facade import WebRtcLeg

TEST_LEAD_NAME = "there"  # the greeting says "Hello there": a test call has no lead
MAX_SDP_BYTES = 20_000


class Offer(msgspec.Struct, forbid_unknown_fields=True):
    campaign_id: str
    sdp: str
    type: str = "offer"


class Answer(msgspec.Struct):
    call_id: str
    sdp: str
    type: str = "answer"


class _Running:
    """Legs of test calls in progress (to hang up on request) and the tasks running them (kept referenced)."""

    def __init__(self) -> None:
        self.legs: dict[str, tuple[str, WebRtcLeg]] = {}
        self.tasks: set[asyncio.Task[None]] = set()


RUNNING = _Running()


def _parse_time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


async def store_test_call(db: Database, account_id: str, campaign_id: str, record: CallRecord) -> None:
    """File the finished test call as a call of its campaign (status ``completed``, no lead)."""
    data = record.to_dict()
    async with session_scope(db) as session:
        session.add(
            Call(
                id=record.call_id,
                account_id=account_id,
                campaign_id=campaign_id,
                lead_id=None,
                attempt=1,
                status="completed" if record.error is None else "error",
                outcome=str(record.outcome),
                started_at=_parse_time(record.started_at),
                ended_at=datetime.now(UTC),
                duration_s=record.duration_s,
                transcript=data["transcript"],
                turns=data["turns"],
                slots=data["slots"],
                record=data,
                error=record.error,
            )
        )


async def _run(
    db: Database, engine: Engine, live_calls: LiveCalls, request: CallRequest, leg: WebRtcLeg, live: LiveCall
) -> None:
    try:
        record = await engine.serve_call(request, leg, None, live.record)
        record.notes.append("browser test call from the console")
        await store_test_call(db, live.account_id, live.campaign_id, record)
    except Exception as exc:  # one failed test call must not leave the live view stuck
        logger.exception("test call failed: {}", type(exc).__name__)
    finally:
        live_calls.end(request.call_id)
        RUNNING.legs.pop(request.call_id, None)


async def _campaign(session: AsyncSession, principal: Principal, campaign_id: str) -> Any:
    return await campaigns_service.get_owned(session, principal, campaign_id)


async def _llm_profile(session: AsyncSession, principal: Principal) -> str | None:
    account = await session.get(Account, principal.account_id)
    return account.llm_profile if account is not None else None


class TestCallPages(Controller):
    path = "/"
    guards = [require_sign_in]

    @get("/campaigns/{campaign_id:str}/test-call")
    async def test_call_page(
        self, campaign_id: FromPath[str], request: Request[Any, Any, Any], principal: ConsolePrincipal, session: Session
    ) -> Template:
        campaign = await _campaign(session, principal, campaign_id)
        return page(request, "test_call.html", principal=principal, section="campaigns", campaign=campaign)

    @post("/test-call/offer", status_code=200)
    async def offer(
        self,
        data: JSONBody[Offer],
        request: Request[Any, Any, Any],
        principal: ConsolePrincipal,
        session: Session,
        engine: Engine,
        live_calls: LiveCalls,
    ) -> Answer:
        if data.type != "offer" or not data.sdp.startswith("v=0") or len(data.sdp) > MAX_SDP_BYTES:
            raise InvalidField("sdp", "not a WebRTC session offer")
        campaign = await _campaign(session, principal, data.campaign_id)
        # The first call must not load the models on the event loop.
        services = await engine.ready()
        # The pipeline speaks at the TTS's rate (telephony 8 kHz): the leg runs at that rate, like a phone call.
        rate = services.tts.out_rate if services.tts.out_rate in (8000, 16000) else 8000
        try:
            leg, answer_sdp = await engine.accept_webrtc_offer(data.sdp, rate)
        except ValueError as exc:
            raise InvalidField("sdp", f"cannot answer this offer: {exc}") from exc
        call_id = str(uuid.uuid4())
        call_request = CallRequest(
            call_id=call_id,
            lead=Lead(name=TEST_LEAD_NAME, phone="", metadata={}),
            script=campaign.script,
            # The campaign's own policy, with the endpoint its account was assigned: the test call is the real agent.
            policy=campaign.policy,
            llm_profile=await _llm_profile(session, principal) if campaign.policy == "llm" else None,
            max_call_s=float(campaign.max_call_seconds),
            campaign_id=campaign.id,
            record_audio=campaign.recording == "on",  # the owner hears their test call back on its call page
        )
        live = LiveCall(
            call_id=call_id,
            account_id=principal.account_id,
            campaign_id=campaign.id,
            campaign_name=campaign.name,
            kind="test",
            record=CallRecord(call_id=call_id),
        )
        live_calls.add(live)
        RUNNING.legs[call_id] = (principal.account_id, leg)
        task = asyncio.create_task(_run(request.app.state.db, engine, live_calls, call_request, leg, live))
        RUNNING.tasks.add(task)
        task.add_done_callback(RUNNING.tasks.discard)
        return Answer(call_id=call_id, sdp=answer_sdp)

    @post("/test-call/{call_id:str}/hangup", status_code=200)
    async def hangup(self, call_id: FromPath[str], principal: ConsolePrincipal) -> dict[str, Any]:
        entry = RUNNING.legs.get(call_id)
        if entry is None or entry[0] != principal.account_id:
            raise NotFoundException("no test call in progress with that id")
        entry[1].remote_hangup()  # the pipeline ends the call and closes the connection itself
        return {"call_id": call_id, "hung_up": True}


def route_handlers() -> list[ControllerRouterHandler]:
    return [TestCallPages]
