"""The engine's HTTP/WebSocket surface: carrier media streams at ``/media/{carrier}``, plus health and metrics.

``engine_route_handlers()`` is mounted by the control API's app; ``python -m engine.server`` (and
``closerr simulate`` when no ``--url`` is given) run the engine alone, without the control API.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import uvicorn
from litestar import Litestar, WebSocket, get, websocket
from litestar.exceptions import NotFoundException, WebSocketDisconnect
from loguru import logger

from closerr.settings import get_settings
from engine.records import Lead
from engine.call import run_call
from engine.logs import configure_logging
from engine.records import CallRecord, CallRequest
from engine.services import get_services
from engine.telephony.media_streams import PROTOCOLS, ProtocolError
from engine.directory import CallDirectory, UnknownCall
from engine.telephony.ws_leg import WebSocketLeg
from metrics import loop_lag
from metrics.litestar import route_handlers as metrics_route_handlers

_directory = CallDirectory(accept_adhoc=os.environ.get("CLOSERR_ACCEPT_ADHOC_STREAMS", "1") != "0")


# Media frames are base64 G.711 in JSON, 50 a second per call: permessage-deflate on them cost about a tenth of
# a core at 16 calls for a few bytes saved, and carriers do not ask for it. Every uvicorn serving media uses these.
UVICORN_WS_OPTIONS: dict[str, Any] = {"ws": "websockets", "ws_per_message_deflate": False}


def get_directory() -> CallDirectory:
    """The process's call directory (the dispatcher registers expected calls here)."""
    return _directory


@websocket("/media/{carrier:str}")
async def media_stream(socket: WebSocket, carrier: str) -> None:
    protocol_cls = PROTOCOLS.get(carrier)
    await socket.accept()
    if protocol_cls is None:
        await socket.close(code=1008, reason="unknown carrier")
        return
    if await _refused_at_capacity(socket, carrier):
        return

    async def receive() -> str | bytes | None:
        try:
            return await socket.receive_text()
        except WebSocketDisconnect:
            return None

    async def close(code: int, reason: str) -> None:
        await socket.close(code=code, reason=reason)

    leg = WebSocketLeg(protocol_cls(), receive, socket.send_text, close)
    try:
        started = await asyncio.wait_for(leg.wait_started(), timeout=15)
        # Checked again with no await before serve_call marks the call started: streams that were admitted
        # together while waiting for their start message cannot overshoot the limit.
        if await _refused_at_capacity(socket, carrier):
            return
        request, result = _directory.claim(started.custom)
    except (ProtocolError, UnknownCall, ValueError, TimeoutError) as exc:
        logger.warning("{} stream rejected: {}", carrier, exc)
        await leg.hangup()
        return
    await serve_call(request, leg, result)


def has_capacity() -> bool:
    """Admission limit (``CLOSERR_MAX_CONCURRENT_CALLS``): beyond it a call would stutter for everyone. Media
    streams beyond it are refused with 1013 "try again later", SIP calls with 503."""
    return _directory.active_calls < get_settings().max_concurrent_calls


async def _refused_at_capacity(socket: WebSocket, carrier: str) -> bool:
    if has_capacity():
        return False
    limit = get_settings().max_concurrent_calls
    logger.warning("{} stream refused: {} calls active, limit {}", carrier, _directory.active_calls, limit)
    await socket.close(code=1013, reason="engine at capacity")
    return True


async def serve_call(
    request: CallRequest, leg: Any, result: asyncio.Future[CallRecord] | None, record: CallRecord | None = None
) -> CallRecord:
    """Run one call on an accepted leg and file its record (used by every transport)."""
    directory = _directory
    record = record if record is not None else CallRecord(call_id=request.call_id)
    directory.started(request, record)

    async def opt_out() -> None:
        if directory.on_opt_out is not None:
            await directory.on_opt_out(request)

    try:
        record = await run_call(request, leg, on_opt_out=opt_out, record=record)
    except Exception as exc:  # never let one call take the server down
        logger.exception("call {} failed: {}", request.call_id, type(exc).__name__)
        record = CallRecord(call_id=request.call_id, error=f"engine error: {type(exc).__name__}", ended_by="error")
    directory.finished(record, result)
    logger.info(
        "call {} ended: outcome={} ended_by={} turns={} duration={:.1f}s",
        request.call_id,
        record.outcome,
        record.ended_by,
        len(record.turns),
        record.duration_s,
    )
    if directory.active_calls == 0:
        # A moment later: the call's tasks and its socket free what they held only after this returns, and
        # memory freed after the trim would stay with the process.
        asyncio.get_running_loop().call_later(IDLE_RELEASE_DELAY_S, _release_if_idle)
    return record


IDLE_RELEASE_DELAY_S = 1.0


def _release_if_idle() -> None:
    if _directory.active_calls == 0:
        asyncio.get_running_loop().run_in_executor(
            None, get_services().release_idle_memory, lambda: _directory.active_calls == 0
        )


ScriptResolver = Callable[[str], Awaitable[tuple[dict[str, Any] | None, str | None]]]


def sip_call_handler(resolve: ScriptResolver | None = None) -> Callable[[Any, Any], Awaitable[CallRecord]]:
    """What the SIP listener runs per inbound call: the campaign mapped to the dialed number (``resolve`` returns its
    agent script and id), or the demo script when none is mapped. The same pipeline and record as a WebSocket call."""

    async def on_call(info: Any, leg: Any) -> CallRecord:
        script: dict[str, Any] | None = None
        campaign_id: str | None = None
        if resolve is not None:
            try:
                script, campaign_id = await resolve(info.dialed)
            except Exception as exc:  # a lookup failure must not drop the caller: fall back to the demo script
                logger.warning("campaign lookup for an inbound SIP call failed: {}", type(exc).__name__)
        request = CallRequest(
            call_id=f"sip-{uuid.uuid4().hex[:16]}",
            lead=Lead(name="there", phone=info.remote_user or ""),
            script=script,
            campaign_id=campaign_id,
        )
        return await serve_call(request, leg, None)

    return on_call


@get("/engine/calls/{call_id:str}", include_in_schema=False)
async def engine_call_record(call_id: str) -> dict[str, Any]:
    record = _directory.record(call_id)
    if record is None:
        raise NotFoundException(detail="no finished call with that id on this engine")
    return record


@get("/health", include_in_schema=False)
async def engine_health() -> dict[str, Any]:
    return {"status": "ok", "active_calls": _directory.active_calls}


def engine_route_handlers(*, include_records: bool = False) -> list[Any]:
    """Handlers to mount on the app that carries media streams. ``include_records`` exposes recent call records
    without authentication: only for the engine-only server used by the simulator and tests."""
    handlers: list[Any] = [media_stream]
    if include_records:
        handlers.append(engine_call_record)
    return handlers


def create_engine_app() -> Litestar:
    async def warm_up() -> None:
        # Load the models before the first call arrives, off the event loop.
        await asyncio.get_running_loop().run_in_executor(None, get_services)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with loop_lag.running():
            yield

    return Litestar(
        route_handlers=[*engine_route_handlers(include_records=True), engine_health, *metrics_route_handlers],
        on_startup=[warm_up],
        lifespan=[lifespan],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the Closerr engine alone (media streams, health, metrics).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    configure_logging()
    uvicorn.run(create_engine_app(), host=args.host, port=args.port, log_level="warning", **UVICORN_WS_OPTIONS)


if __name__ == "__main__":
    main()
