"""Accounts and API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts.tables import Account, ApiKey


async def key_by_prefix(session: AsyncSession, prefix: str) -> tuple[ApiKey, Account] | None:
    row = (
        await session.execute(
            select(ApiKey, Account).join(Account, Account.id == ApiKey.account_id).where(ApiKey.prefix == prefix)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def touch_key(session: AsyncSession, key_id: str, when: datetime) -> None:
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=when))


async def get_key(session: AsyncSession, account_id: str, key_id: str) -> ApiKey | None:
    return await session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.account_id == account_id))


async def list_keys(session: AsyncSession, account_id: str, offset: int, limit: int) -> list[ApiKey]:
    rows = await session.scalars(
        select(ApiKey)
        .where(ApiKey.account_id == account_id)
        .order_by(ApiKey.created_at, ApiKey.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows)


async def count_active_keys(session: AsyncSession, account_id: str) -> int:
    n = await session.scalar(
        select(func.count()).select_from(ApiKey).where(ApiKey.account_id == account_id, ApiKey.revoked_at.is_(None))
    )
    return int(n or 0)
