"""Console sessions held server-side (table ``console_sessions``): the cookie carries a random token, the database
holds only its SHA-256, so a sign-out (or an expiry, or revoking the key) ends the session even for a copy of the
cookie taken before.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts.service import Principal, principal_for_key
from control_api.accounts.tables import ConsoleSession
from control_api.storage.types import utcnow

SESSION_TTL = timedelta(hours=12)


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def purge_expired(session: AsyncSession, now: datetime | None = None) -> int:
    result = await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= (now or utcnow())))
    return int(getattr(result, "rowcount", 0) or 0)


async def open_session(session: AsyncSession, principal: Principal) -> str:
    """A new row for ``principal``; answers the token for the cookie (never stored itself)."""
    await purge_expired(session)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        ConsoleSession(
            id=token_id(token),
            account_id=principal.account_id,
            key_id=principal.key_id,
            created_at=now,
            expires_at=now + SESSION_TTL,
        )
    )
    await session.flush()
    return token


async def principal_of_token(session: AsyncSession, token: str) -> Principal | None:
    """The principal of a live session: the row exists and has not expired, and its key is not revoked."""
    row = (
        await session.execute(
            select(ConsoleSession.account_id, ConsoleSession.key_id).where(
                ConsoleSession.id == token_id(token), ConsoleSession.expires_at > utcnow()
            )
        )
    ).one_or_none()
    return None if row is None else await principal_for_key(session, row[0], row[1])


async def close_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(ConsoleSession).where(ConsoleSession.id == token_id(token)))
