"""/v1/accounts and /v1/api-keys."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts import service
from control_api.accounts.schemas import (
    AccountCreate,
    AccountCreated,
    AccountView,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPage,
    ApiKeyView,
)
from control_api.auth import client_ip
from control_api.errors import NotFound
from control_api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from control_api.storage.tables import Account

Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="page size")]


class AccountController(Controller):
    path = "/accounts"
    tags = ["accounts"]

    @post("/", opt={"exclude_from_auth": True}, security=[])
    async def register(self, data: AccountCreate, request: Request[Any, Any, Any], session: AsyncSession) -> AccountCreated:
        """Register a client account; answers its first API key, shown this once only."""
        return await service.register(session, data, client_ip(request))

    @get("/me")
    async def me(self, principal: service.Principal, session: AsyncSession) -> AccountView:
        account = await session.get(Account, principal.account_id)
        if account is None:
            raise NotFound("account")
        return service.account_view(account)


class ApiKeyController(Controller):
    path = "/api-keys"
    tags = ["api keys"]

    @get("/")
    async def list_keys(
        self,
        principal: service.Principal,
        session: AsyncSession,
        limit: Limit = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> ApiKeyPage:
        """The account's keys, prefix only (the secret is never shown again)."""
        return await service.list_keys(session, principal, limit, cursor)

    @post("/")
    async def create_key(
        self, principal: service.Principal, session: AsyncSession, data: ApiKeyCreate | None = None
    ) -> ApiKeyCreated:
        return await service.create_key(session, principal, data.label if data else None)

    @post("/{key_id:str}/rotate", status_code=201)
    async def rotate_key(self, key_id: str, principal: service.Principal, session: AsyncSession) -> ApiKeyCreated:
        """Issue a replacement key and revoke this one at once."""
        return await service.rotate_key(session, principal, key_id)

    @delete("/{key_id:str}", status_code=200)
    async def revoke_key(self, key_id: str, principal: service.Principal, session: AsyncSession) -> ApiKeyView:
        return await service.revoke_key(session, principal, key_id)
