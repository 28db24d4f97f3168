"""The operator's rules: creating operator accounts (command line only), credit top-ups and suspensions. Every
change is audited with the operator's key as the actor and the client account as the tenant, so the client's own
audit verification covers what was done to its account."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts import policy
from control_api.accounts.service import Principal, new_key
from control_api.accounts.tables import Account
from control_api.audit import AuditContext, audit_event
from control_api.credits import ledger
from control_api.errors import Conflict, InvalidField, NotFound
from control_api.operator.schemas import (
    AccountLlm,
    AccountStatus,
    CreditTopUp,
    LlmAssignment,
    OperatorCreate,
    OperatorCreated,
    TopUpResult,
)
from control_api.storage.types import utcnow

IDEMPOTENCY_HEADER = "Idempotency-Key"
# The ledger's ``ref`` holds "topup:<account id>:<key>" in 100 characters.
_IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9._:-]{1,56}$")
_CLI_ACTOR = AuditContext(actor="cli:operator", tenant_id=None)


async def create_operator(session: AsyncSession, name: str, email: str) -> OperatorCreated:
    """An operator account and its first (full) key. Reached only from ``closerr operator create``: the API's
    sign-up always makes clients."""
    try:
        body = msgspec.convert({"name": name.strip(), "email": email.strip()}, OperatorCreate)
    except msgspec.ValidationError as exc:
        field = "email" if "email" in str(exc) else "name"
        raise InvalidField(field, str(exc)) from None
    account = Account(
        id=str(uuid.uuid4()), name=body.name, email=body.email, billing={}, role=policy.OPERATOR, created_at=utcnow()
    )
    session.add(account)
    try:
        await session.flush()  # the unique index on lower(email) decides, as for sign-ups
    except IntegrityError:
        await session.rollback()
        raise Conflict("an account with this email already exists", field="email") from None
    key, plaintext = new_key(account.id, label="operator")
    session.add(key)
    await session.flush()
    ctx = AuditContext(actor=_CLI_ACTOR.actor, tenant_id=account.id)
    await ctx.record(
        session, "account.register", object_type="account", object_id=account.id, details={"role": policy.OPERATOR}
    )
    return OperatorCreated(account_id=account.id, api_key=plaintext, api_key_id=key.id, api_key_prefix=key.prefix)


async def _client_account(session: AsyncSession, account_id: str) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound("account")
    if account.role != policy.CLIENT:
        raise Conflict("this is an operator account; operator accounts are managed from the command line", field="id")
    return account


def _idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not _IDEMPOTENCY_KEY_RE.match(value):
        raise InvalidField(IDEMPOTENCY_HEADER, "1-56 characters of A-Z a-z 0-9 . _ : -")
    return value


async def top_up(
    session: AsyncSession, principal: Principal, account_id: str, body: CreditTopUp, idempotency_key: str | None
) -> TopUpResult:
    """Add credits. With an idempotency key, a retry of the same request answers the first result and writes
    nothing; the same key with another amount or note is refused."""
    await _client_account(session, account_id)
    key = _idempotency_key(idempotency_key)
    ref = f"topup:{account_id}:{key if key is not None else uuid.uuid4().hex}"
    entry, written = await ledger.top_up_once(session, account_id, body.amount, ref=ref, note=body.note)
    if not written and (entry.kind != ledger.TOPUP or entry.amount != body.amount or entry.note != body.note):
        raise Conflict(
            f"this {IDEMPOTENCY_HEADER} was used for a different top-up (amount or note differ); use a new key",
            field=IDEMPOTENCY_HEADER,
        )
    if written:
        await audit_event(
            session,
            principal,
            "credits.topup",
            tenant_id=account_id,
            object_type="account",
            object_id=account_id,
            details={"amount": body.amount, "entry_id": entry.id, "idempotency_key": key is not None},
        )
    return TopUpResult(
        account_id=account_id,
        entry_id=entry.id,
        amount=entry.amount,
        note=entry.note,
        balance=await ledger.balance_through(session, account_id, entry.id),
        created_at=entry.created_at,
    )


def _status(account: Account) -> AccountStatus:
    return AccountStatus(
        account_id=account.id, suspended=account.suspended_at is not None, suspended_at=account.suspended_at
    )


async def set_suspended(session: AsyncSession, principal: Principal, account_id: str, suspended: bool) -> AccountStatus:
    """Suspend (its keys get 403, its console sign-in is refused, the dispatcher dials none of its campaigns) or
    lift the suspension. Asking for the state the account is already in changes and records nothing."""
    account = await _client_account(session, account_id)
    if (account.suspended_at is not None) == suspended:
        return _status(account)
    account.suspended_at = utcnow() if suspended else None
    await session.flush()
    await audit_event(
        session,
        principal,
        "account.suspend" if suspended else "account.unsuspend",
        tenant_id=account_id,
        object_type="account",
        object_id=account_id,
    )
    return _status(account)


async def assign_llm_profile(
    session: AsyncSession, principal: Principal, account_id: str, body: LlmAssignment, profiles: Collection[str]
) -> AccountLlm:
    """Point the account's ``llm`` campaigns at one of the deployment's named endpoints (or back at its own).
    Calls already running keep the endpoint they started with."""
    if body.profile is not None and body.profile not in profiles:
        configured = ", ".join(sorted(profiles)) or "none (set CLOSERR_LLM_PROFILES)"
        raise InvalidField("profile", f"no LLM profile {body.profile!r}; configured: {configured}")
    account = await _client_account(session, account_id)
    if account.llm_profile != body.profile:
        account.llm_profile = body.profile
        await session.flush()
        await audit_event(
            session,
            principal,
            "account.llm_profile",
            tenant_id=account_id,
            object_type="account",
            object_id=account_id,
            details={"profile": body.profile},
        )
    return AccountLlm(account_id=account_id, profile=account.llm_profile)
