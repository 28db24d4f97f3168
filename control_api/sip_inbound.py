"""The SIP listener inside ``closerr serve`` (``--sip-port``): an inbound call runs the started campaign whose
caller ID is the number dialed, or the demo script when no campaign has that number."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar

from closerr.settings import Settings
from control_api.campaigns import repository as campaign_repo
from control_api.storage.db import Database
from engine.server import has_capacity, sip_call_handler
from engine.telephony.sip import start_from_settings


def _digits(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    # 0-prefixed national and 91-prefixed forms of an Indian number compare as its last ten digits.
    return digits[-10:] if len(digits) >= 10 else digits


def campaign_resolver(db: Database) -> Any:
    async def resolve(dialed: str) -> tuple[dict[str, Any] | None, str | None]:
        wanted = _digits(dialed)
        if not wanted:
            return None, None
        async with db.sessions() as session:
            for campaign in await campaign_repo.started_with_caller_ids(session):
                if campaign.caller_id and _digits(campaign.caller_id) == wanted:
                    return campaign.script, campaign.id
        return None, None

    return resolve


def sip_lifespan(settings: Settings) -> Any:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        server = await start_from_settings(
            sip_call_handler(campaign_resolver(app.state.db)), settings, admit=has_capacity
        )
        try:
            yield
        finally:
            if server is not None:
                await server.stop()

    return lifespan
