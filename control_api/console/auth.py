"""Console sign-in: an API key exchanged for a session cookie.

The key itself is never stored in the session (the cookie holds the account id, key id and prefix, encrypted by
Litestar's cookie backend); every request re-reads the key row, so revoking a key signs its console sessions out.
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
from control_api.accounts.service import Principal, authenticate, principal_for_key
from control_api.storage.db import Database, session_scope

_SESSION_KEYS = ("account_id", "key_id", "key_prefix")


class SignInRequired(NotAuthorizedException):
    """Raised for a console page without a valid session; the console's handler redirects to the sign-in page."""


async def sign_in(session: AsyncSession, request: Request[Any, Any, Any], api_key: str) -> Principal | None:
    principal = await authenticate(session, f"Bearer {api_key.strip()}")
    if principal is None or console_refusal(principal) is not None:
        return None
    # A fresh session on sign-in (no fixation): drop whatever the cookie held before.
    request.clear_session()
    request.set_session({k: getattr(principal, k) for k in _SESSION_KEYS})
    return principal


def sign_out(request: Request[Any, Any, Any]) -> None:
    request.clear_session()


async def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    data = connection.session if "session" in connection.scope else {}
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in _SESSION_KEYS):
        return None
    db = cast(Database, connection.app.state.db)
    async with session_scope(db) as session:
        principal = await principal_for_key(session, data["account_id"], data["key_id"])
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
