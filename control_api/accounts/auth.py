"""``Authorization: Bearer <api key>`` on every /v1 route except those marked ``exclude_from_auth``."""

from __future__ import annotations

from typing import Any, cast

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from control_api.accounts.service import Principal, authenticate, touch_used_keys
from control_api.limits.hooks import count_failed_auth
from control_api.storage.db import Database

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="closerr"'}


class ApiKeyAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization")
        if not header:
            raise NotAuthorizedException("missing Authorization: Bearer <api key>", headers=_CHALLENGE)
        db = cast(Database, connection.app.state.db)
        async with db.sessions() as session:
            principal = await authenticate(session, header)
        if principal is None:
            await count_failed_auth(connection)
            raise NotAuthorizedException("invalid, malformed or revoked API key", headers=_CHALLENGE)
        async with db.sessions() as session:
            await touch_used_keys(session, principal)
        return AuthenticationResult(user=principal, auth=principal.key_prefix)


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    return cast(Principal, request.user)


def client_ip(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


Caller = NamedDependency[Principal]
