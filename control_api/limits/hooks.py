"""Where the API applies its rate limits: one app-wide guard for the routes that declare
``opt={"rate_limit": SIGNUP | EXPENSIVE}``, and ``count_failed_auth`` called by the API-key middleware when a key is
refused.

The client address is the socket peer's (``request.client.host``); ``closerr serve`` runs uvicorn without proxy
headers, so no client can choose its address with ``X-Forwarded-For``.
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from sqlalchemy.exc import OperationalError

from config.settings import Settings
from control_api.limits.limiter import RateLimited, Rule, Window, hit
from control_api.storage.db import Database, session_scope

log = logging.getLogger(__name__)

OPT = "rate_limit"
SIGNUP = "signup"
EXPENSIVE = "expensive"

_WHAT = {
    "signup": "sign-ups from one address",
    "failed_auth": "invalid API keys from one address",
    "expensive": "uploads, imports, campaign starts and access exports per API key",
}


def _rule(settings: Settings, name: str) -> Rule:
    if name == SIGNUP:
        return Rule(SIGNUP, settings.rate_limit_signups_per_hour, 3600)
    if name == EXPENSIVE:
        return Rule(EXPENSIVE, settings.rate_limit_expensive_per_minute, 60)
    return Rule("failed_auth", settings.rate_limit_failed_auth_per_minute, 60)


def _client(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return connection.client.host if connection.client else "unknown"


async def _count(
    connection: ASGIConnection[Any, Any, Any, Any], rule_name: str, who: str, field: str | None = None
) -> None:
    settings = cast(Settings, connection.app.state.settings)
    if not settings.rate_limits:
        return
    rule = _rule(settings, rule_name)
    try:
        # Committed before any refusal is raised: refused requests use up the window too.
        async with session_scope(cast(Database, connection.app.state.db)) as session:
            window: Window = await hit(session, rule, who)
    except OperationalError:
        # SQLite busy with a bulk import past its timeout: let the request through rather than fail it.
        log.warning("rate limit %s not counted: database busy", rule.name)
        return
    if window.hits > rule.limit:
        raise RateLimited(
            rule,
            window.retry_after(time.time()),
            f"at most {rule.limit} {_WHAT[rule.name]} per {rule.window_s} s; retry later",
            field,
        )


async def rate_limit_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    kind = handler.opt.get(OPT)
    if kind == SIGNUP:
        await _count(connection, SIGNUP, _client(connection))
    elif kind == EXPENSIVE:
        await _count(connection, EXPENSIVE, "key:" + str(getattr(connection.user, "key_id", "none")))


async def count_failed_auth(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Count a refused key from this address; past the limit the refusal becomes 429 until the window ends.
    Valid keys are never counted nor refused here, so a client sharing an address with a guesser keeps working."""
    await _count(connection, "failed_auth", _client(connection), field="Authorization")
