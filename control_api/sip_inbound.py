"""The SIP listener inside ``closerr serve`` (``--sip-port``): an inbound call runs the started campaign whose
caller ID is the number dialed, or the demo script when no campaign has that number."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar

from config.settings import Settings
from control_api.campaigns import repository as campaign_repo
from control_api.phones import comparable_digits
from control_api.storage.db import Database
from engine.facade import Engine


def campaign_resolver(db: Database) -> Any:
    async def resolve(dialed: str) -> tuple[dict[str, Any] | None, str | None]:
        wanted = comparable_digits(dialed)
        if not wanted:
            return None, None
        async with db.sessions() as session:
            for campaign in await campaign_repo.started_with_caller_ids(session):
                if campaign.caller_id and comparable_digits(campaign.caller_id) == wanted:
                    return campaign.script, campaign.id
        return None, None

    return resolve


def sip_lifespan(settings: Settings, engine: Engine | None) -> Any:
    """The listener on ``sip_port`` (0: none) of ``host``, when the app carries an engine."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if engine is None or not settings.sip_port:
            yield
            return
        rtp_range = (settings.sip_rtp_port_min, settings.sip_rtp_port_max) if settings.sip_rtp_port_min else None
        server = await engine.start_sip_listener(
            settings.host,
            settings.sip_port,
            advertise_host=settings.sip_advertise_host,
            rtp_port_range=rtp_range,
            resolve=campaign_resolver(app.state.db),
        )
        try:
            yield
        finally:
            await server.stop()

    return lifespan
