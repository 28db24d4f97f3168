"""/v1/accounts and /v1/api-keys."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from control_api.accounts import service
from control_api.accounts.auth import Caller, client_ip
from control_api.accounts.policy import Access, access
from control_api.accounts.schemas import (
    AccountCreate,
    AccountCreated,
    AccountView,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPage,
    ApiKeyView,
    WebhookSecret,
)
from control_api.accounts.tables import Account
from control_api.deps import Session
from control_api.errors import NotFound
from control_api.limits.hooks import OPT, SIGNUP
from control_api.pagination import DEFAULT_LIMIT, MAX_LIMIT

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="page size")]


@post("/accounts", tags=["accounts"], status_code=201, opt={OPT: SIGNUP})
async def register_account(
    data: JSONBody[AccountCreate], request: Request[Any, Any, Any], session: Session
) -> AccountCreated:
    """Register a client account (no key needed); answers its first API key, shown this once only. Sign-up always
    makes a client: operator accounts are created only by ``closerr operator create``."""
    return await service.register(session, data, client_ip(request))


class AccountController(Controller):
    path = "/accounts"
    tags = ["accounts"]
    opt = access(Access.ANY)

    @get("/me")
    async def me(self, principal: Caller, session: Session) -> AccountView:
        account = await session.get(Account, principal.account_id)
        if account is None:
            raise NotFound("account")
        return service.account_view(account)

    @post("/me/webhook-secret", status_code=201)
    async def rotate_webhook_secret(self, principal: Caller, session: Session) -> WebhookSecret:
        """A new secret signing this account's webhooks, shown this once; the previous one stops at once."""
        return await service.rotate_webhook_secret(session, principal)


class ApiKeyController(Controller):
    path = "/api-keys"
    tags = ["api keys"]
    opt = access(Access.ANY)  # operators manage their own keys too

    @get("/")
    async def list_keys(
        self,
        principal: Caller,
        session: Session,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> ApiKeyPage:
        """The account's keys, prefix only (the secret is never shown again)."""
        return await service.list_keys(session, principal, limit, cursor)

    @post("/")
    async def create_key(
        self, principal: Caller, session: Session, data: JSONBody[ApiKeyCreate | None] = None
    ) -> ApiKeyCreated:
        body = data or ApiKeyCreate()
        return await service.create_key(session, principal, body.label, body.scope)

    @post("/{key_id:str}/rotate", status_code=201)
    async def rotate_key(self, key_id: FromPath[str], principal: Caller, session: Session) -> ApiKeyCreated:
        """Issue a replacement key and revoke this one at once."""
        return await service.rotate_key(session, principal, key_id)

    @delete("/{key_id:str}", status_code=200)
    async def revoke_key(self, key_id: FromPath[str], principal: Caller, session: Session) -> ApiKeyView:
        return await service.revoke_key(session, principal, key_id)
