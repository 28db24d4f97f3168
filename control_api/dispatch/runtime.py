"""Running workers: the ``closerr worker`` process (engine media endpoint + health + metrics + a worker), and the
in-process worker ``closerr serve`` attaches to the API app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from litestar import Litestar, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.params import Body, FromQuery, Parameter
from sqlalchemy import text

from config.settings import Settings
from control_api.audit import pseudonym
from control_api.dispatch import amd_callbacks
from control_api.dispatch.transfer_routes import transfer_route_handlers
from control_api.dispatch.worker import Worker
from control_api.errors import exception_handlers
from control_api.origination import registry
from control_api.origination.amd import AMD_PATH, CARRIERS_WITH_AMD
from control_api.origination.exotel import STREAM_URL_PATH, stream_url
from control_api.origination.plivo import ANSWER_PATH, stream_xml
from control_api.storage.db import Database, _upgrade_heads, create_database
from engine.facade import Engine
from metrics.litestar import route_handlers as metrics_route_handlers

MIGRATION_LOCK = 5_500_501  # pg_advisory_xact_lock key: one migrator at a time when many workers start together


async def migrate(db: Database) -> None:
    async with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        await conn.run_sync(_upgrade_heads)


def media_base(settings: Settings, host: str, port: int) -> str:
    return settings.media_public_url or f"ws://{host}:{port}"


def public_base(settings: Settings, host: str, port: int) -> str:
    return settings.public_url or f"http://{host}:{port}"


def build_worker(db: Database, settings: Settings, engine: Engine, host: str, port: int) -> Worker:
    carrier = registry.build(settings, engine, public_url=public_base(settings, host, port))
    return Worker(
        db=db,
        settings=settings,
        carrier=carrier,
        media_base_url=media_base(settings, host, port),
        engine=engine,
    )


CALLBACK_MAX_BODY_BYTES = 16_384


def carrier_route_handlers(settings: Settings, engine: Engine, host: str, port: int) -> list[Any]:
    """What carriers fetch from a worker when a call is answered: Plivo's answer XML, and the stream URL of
    Exotel's Voicebot applet (configured as a dynamic URL; Exotel passes the originate ``CustomField``); what they
    fetch during a transfer; and where Twilio and Plivo post their answering-machine verdicts."""

    @get(ANSWER_PATH, include_in_schema=False, media_type="application/xml")
    async def plivo_answer(call_id: FromQuery[str], stream_token: FromQuery[str] = "") -> Response[str]:
        url = f"{media_base(settings, host, port)}/media/plivo"
        try:
            xml = stream_xml(url, call_id, stream_token)
        except ValueError as exc:  # not what we dialed: Plivo's extraHeaders could not carry it
            raise ValidationException(detail=str(exc), extra=[{"key": "call_id", "message": str(exc)}]) from exc
        return Response(xml, media_type="application/xml")

    @get(STREAM_URL_PATH, include_in_schema=False)
    async def exotel_stream_url(custom_field: Annotated[str, Parameter(query="CustomField")]) -> dict[str, str]:
        return {"url": stream_url(f"{media_base(settings, host, port)}/media/exotel", custom_field)}

    # One static path per carrier: a "{carrier}" parameter would lose to the static /carriers/twilio/... of the
    # transfer routes in Litestar's routing tree.
    @post([AMD_PATH.format(carrier=c) for c in CARRIERS_WITH_AMD], include_in_schema=False, status_code=200)
    async def carrier_amd(
        request: Request[Any, Any, Any],
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
        call_id: FromQuery[str] = "",
        callback_token: FromQuery[str] = "",
    ) -> Response[str]:
        carrier = request.url.path.rstrip("/").split("/")[-2]
        amd_callbacks.receive(engine, carrier, call_id, callback_token, data)
        return Response("OK", media_type="text/plain")

    return [plivo_answer, exotel_stream_url, carrier_amd, *transfer_route_handlers()]


def create_worker_app(
    settings: Settings, engine: Engine, host: str, port: int, *, database: Database | None = None
) -> Litestar:
    """The ``closerr worker`` process: carrier media streams at ``/media/{carrier}``, ``/health``, ``/metrics``.
    Its media endpoint faces the carriers (the internet): ``engine`` must not accept ad-hoc streams."""
    if engine.directory.accept_adhoc:
        raise ValueError("a worker's engine serves only the calls it dialed: build it with accept_adhoc_streams off")
    # The worker appends audit entries (dispatch results): same chain key and pseudonyms as the API processes.
    pseudonym.use_key(settings.audit_hmac_key.get_secret_value())

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        db = database or create_database(settings.effective_database_url)
        await migrate(db)
        if settings.carrier != "simulated" or settings.sim_no_answer_rate + settings.sim_busy_rate < 1:
            # Load the models now, off the loop, instead of during the first answered call.
            asyncio.get_running_loop().run_in_executor(None, lambda: engine.services)
        worker = build_worker(db, settings, engine, host, port)
        app.state.worker = worker
        worker.start()
        try:
            yield
        finally:
            await worker.stop()
            if database is None:
                await db.dispose()

    return Litestar(
        route_handlers=[
            *engine.route_handlers(),
            engine.health_handler(),
            *metrics_route_handlers,
            *carrier_route_handlers(settings, engine, host, port),
        ],
        lifespan=[lifespan],
        exception_handlers=exception_handlers,  # the carrier callbacks' errors are problem details too
        # Carriers post small forms here (a verdict, a dial status); anyone may reach the port, so a body is read
        # only up to this size, before any token is checked.
        request_max_body_size=CALLBACK_MAX_BODY_BYTES,
    )


def attach_worker(app: Litestar, settings: Settings, engine: Engine, db: Database, host: str, port: int) -> None:
    """For ``closerr serve``: run a worker inside the API process once the app has migrated ``db`` (which the
    caller owns and passes to ``create_app(database=db)``), stop it, then close ``db``."""

    async def start(app: Litestar) -> None:
        worker = build_worker(db, settings, engine, host, port)
        app.state.worker = worker
        worker.start()

    async def stop(app: Litestar) -> None:
        worker = getattr(app.state, "worker", None)
        if worker is not None:
            await worker.stop()
        await db.dispose()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
    for handler in carrier_route_handlers(settings, engine, host, port):
        app.register(handler)
