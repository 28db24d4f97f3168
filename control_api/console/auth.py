"""Console sign-in: an API key exchanged for a session cookie.

The key itself is never stored in the session: the cookie (encrypted by Litestar's cookie backend) holds a random
token whose SHA-256 names a ``console_sessions`` row. Every request re-reads that row and the key's, so signing
out, the session's expiry and revoking the key each end the session, also for a copy of the cookie.
"""

from __future__ import annotations

from typing import Any, cast

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts.policy import console_refusal
from control_api.accounts.service import Principal, authenticate
from control_api.console.sessions import close_session, open_session, principal_of_token
from control_api.storage.db import Database, session_scope

_TOKEN = "session_token"


class SignInRequired(NotAuthorizedException):
    """Raised for a console page without a valid session; the console's handler redirects to the sign-in page."""


async def sign_in(session: AsyncSession, request: Request[Any, Any, Any], api_key: str) -> Principal | None:
    principal = await authenticate(session, f"Bearer {api_key.strip()}")
    if principal is None or console_refusal(principal) is not None:
        return None
    # A fresh session on sign-in (no fixation): drop whatever the cookie held before.
    request.clear_session()
    request.set_session({_TOKEN: await open_session(session, principal)})
    return principal


def _token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    data = connection.session if "session" in connection.scope else {}
    token = data.get(_TOKEN) if isinstance(data, dict) else None
    return token if isinstance(token, str) and token else None


async def sign_out(session: AsyncSession, request: Request[Any, Any, Any]) -> None:
    token = _token(request)
    if token is not None:
        await close_session(session, token)
    request.clear_session()


async def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    token = _token(connection)
    if token is None:
        return None
    db = cast(Database, connection.app.state.db)
    async with session_scope(db) as session:
        principal = await principal_of_token(session, token)
    # A suspension (or anything else the policy refuses) ends the sessions already open, not only new sign-ins.
    if principal is None or console_refusal(principal) is not None:
        return None
    return principal


async def require_sign_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of every console page but the sign-in page; leaves the principal in ``connection.state``."""
    principal = await principal_of(connection)
    if principal is None:
        raise SignInRequired("sign in to the console")
    connection.state.console_principal = principal


def provide_console_principal(request: Request[Any, Any, Any]) -> Principal:
    return cast(Principal, request.state.console_principal)


ConsolePrincipal = NamedDependency[Principal]
"""Marker of the ``principal`` parameter of console handlers (the session's, not a Bearer header's)."""
