"""Rules for accounts and API keys."""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import msgspec
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts import keys, policy
from control_api.accounts import repository as repo
from control_api.accounts.schemas import (
    AccountCreate,
    AccountCreated,
    AccountView,
    ApiKeyCreated,
    ApiKeyPage,
    ApiKeyView,
    Billing,
    WebhookSecret,
)
from control_api.accounts.tables import Account, ApiKey
from control_api.audit import audit_event
from control_api.errors import Conflict, NotFound
from control_api.pagination import decode_cursor, encode_cursor
from control_api.storage.types import utcnow

log = logging.getLogger(__name__)

# last_used_at is a convenience, not an audit trail: one write per key per minute at most.
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account and the key it used (the key prefix names the actor in records), the account's
    role, the key's scope and whether the account is suspended (``policy`` judges these)."""

    account_id: str
    key_id: str
    key_prefix: str
    role: str
    scope: str
    suspended: bool

    @property
    def is_operator(self) -> bool:
        return self.role == policy.OPERATOR

    @property
    def actor(self) -> str:
        # Operator actions read as such in the audit log, whichever account they touch.
        return f"{'operator' if self.is_operator else 'key'}:{self.key_prefix}"


def principal_of(key: ApiKey, account: Account) -> Principal:
    return Principal(
        account_id=account.id,
        key_id=key.id,
        key_prefix=key.prefix,
        role=account.role,
        scope=key.scope,
        suspended=account.suspended_at is not None,
    )


async def register(session: AsyncSession, body: AccountCreate, client_ip: str | None) -> AccountCreated:
    account = Account(
        id=str(uuid.uuid4()),
        name=body.name.strip(),
        email=body.email.strip(),
        billing=msgspec.to_builtins(body.billing),
        registration_ip=client_ip,
        role=policy.CLIENT,  # sign-up never makes an operator
        webhook_secret=new_webhook_secret(),
    )
    session.add(account)
    try:
        # The unique index on lower(email) decides between concurrent sign-ups: a check before the insert cannot.
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict("an account with this email already exists", field="email") from None
    key, plaintext = new_key(account.id, label="default")
    session.add(key)
    await session.flush()
    await audit_event(  # registrations are audited
        session, None, "account.register", tenant_id=account.id, object_type="account", object_id=account.id
    )
    return AccountCreated(
        account_id=account.id,
        api_key=plaintext,
        api_key_id=key.id,
        api_key_prefix=key.prefix,
        webhook_secret=account.webhook_secret or "",
    )


def new_webhook_secret() -> str:
    return secrets.token_hex(32)  # 64 hex digits: the column's width


async def rotate_webhook_secret(session: AsyncSession, principal: Principal) -> WebhookSecret:
    account = await session.get(Account, principal.account_id, with_for_update=True)
    if account is None:
        raise NotFound("account")
    account.webhook_secret = new_webhook_secret()
    await session.flush()
    await audit_event(session, principal, "account.webhook_secret.rotate", object_type="account", object_id=account.id)
    return WebhookSecret(webhook_secret=account.webhook_secret)


def account_view(account: Account) -> AccountView:
    return AccountView(
        account_id=account.id,
        name=account.name,
        email=account.email,
        billing=msgspec.convert(account.billing, Billing) if account.billing else None,
        created_at=account.created_at,
        role=account.role,
        has_webhook_secret=bool(account.webhook_secret),
    )


def new_key(account_id: str, label: str | None, scope: str = policy.FULL) -> tuple[ApiKey, str]:
    new = keys.generate_key()
    row = ApiKey(
        id=str(uuid.uuid4()),
        account_id=account_id,
        prefix=new.prefix,
        key_hash=new.digest,
        label=label,
        created_at=utcnow(),
        scope=scope,
    )
    return row, new.plaintext


async def authenticate(session: AsyncSession, authorization: str | None) -> Principal | None:
    """The principal of a ``Bearer`` header, or None for a missing, malformed, unknown or revoked key."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    prefix = keys.split_key(token)
    if prefix is None:
        return None
    found = await repo.key_by_prefix(session, prefix)
    if found is None:
        return None
    key, account = found
    if key.revoked_at is not None or not keys.matches(token, key.key_hash):
        return None
    principal = principal_of(key, account)
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > _TOUCH_EVERY:
        _stale_keys.add(key.id)
    return principal


async def principal_for_key(session: AsyncSession, account_id: str, key_id: str) -> Principal | None:
    """The principal of a key already identified (a console session), or None when the key is gone or revoked."""
    key = await repo.get_key(session, account_id, key_id)
    if key is None or key.revoked_at is not None:
        return None
    account = await session.get(Account, account_id)
    return None if account is None else principal_of(key, account)


# Keys whose last_used_at is due an update; written by ``touch_used_keys`` in its own short transaction.
_stale_keys: set[str] = set()


async def touch_used_keys(session: AsyncSession, principal: Principal) -> None:
    """Best effort: a busy database (SQLite during a bulk import) must not turn a valid key into an error."""
    if principal.key_id not in _stale_keys:
        return
    _stale_keys.discard(principal.key_id)
    try:
        await repo.touch_key(session, principal.key_id, utcnow())
        await session.commit()
    except OperationalError:
        await session.rollback()
        log.info("api key last_used_at not updated: database busy")


def key_view(key: ApiKey) -> ApiKeyView:
    return ApiKeyView(
        id=key.id,
        prefix=key.prefix,
        label=key.label,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
        active=key.revoked_at is None,
        scope=key.scope,
    )


async def create_key(
    session: AsyncSession, principal: Principal, label: str | None, scope: str = policy.FULL
) -> ApiKeyCreated:
    policy.check_grant(principal, scope)
    row, plaintext = new_key(principal.account_id, label, scope)
    session.add(row)
    await session.flush()
    await audit_event(
        session, principal, "api_key.create", object_type="api_key", object_id=row.id, details={"scope": scope}
    )
    return ApiKeyCreated(
        id=row.id, prefix=row.prefix, label=row.label, api_key=plaintext, created_at=row.created_at, scope=row.scope
    )


async def list_keys(session: AsyncSession, principal: Principal, limit: int, cursor: str | None) -> ApiKeyPage:
    offset = decode_cursor(cursor)
    rows = await repo.list_keys(session, principal.account_id, offset, limit + 1)
    next_cursor = encode_cursor(offset + limit) if len(rows) > limit else None
    return ApiKeyPage(items=[key_view(k) for k in rows[:limit]], next_cursor=next_cursor)


async def _active_key(session: AsyncSession, principal: Principal, key_id: str) -> ApiKey:
    key = await repo.get_key(session, principal.account_id, key_id)
    if key is None:
        raise NotFound("api key")
    if key.revoked_at is not None:
        raise Conflict("this key is already revoked", field="id")
    return key


async def revoke_key(session: AsyncSession, principal: Principal, key_id: str) -> ApiKeyView:
    key = await _active_key(session, principal, key_id)
    if await repo.count_active_keys(session, principal.account_id) <= 1:
        # Revoking the last key would lock the account out with no way back in.
        raise Conflict("cannot revoke the account's last active key; create another key first", field="id")
    key.revoked_at = utcnow()
    await session.flush()
    await audit_event(session, principal, "api_key.revoke", object_type="api_key", object_id=key.id)
    return key_view(key)


async def rotate_key(session: AsyncSession, principal: Principal, key_id: str) -> ApiKeyCreated:
    """A new key replacing ``key_id`` (same label), which is revoked at once."""
    old = await _active_key(session, principal, key_id)
    old.revoked_at = utcnow()
    await audit_event(session, principal, "api_key.rotate", object_type="api_key", object_id=old.id)
    return await create_key(session, principal, old.label, old.scope)
