"""The ledger rules: balance, top-ups, reservations at dispatch, settlement and release at call end.

Every write happens with the account locked (``lock_account``), so "check the balance, then reserve" cannot race
with another worker doing the same; entries with a ``ref`` are written at most once, so a retried settlement
charges nothing more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts.tables import Account
from control_api.credits.tables import CreditEntry
from control_api.storage.types import utcnow

TOPUP, RESERVE, RELEASE, CHARGE = "topup", "reserve", "release", "charge"


class UnknownAccount(LookupError):
    pass


@dataclass(frozen=True)
class Settlement:
    billed_seconds: int
    charged: int
    released: int


async def lock_account(session: AsyncSession, account_id: str) -> None:
    """Serialise every ledger and dispatch decision of one account across processes: a row lock on PostgreSQL,
    the database write lock on SQLite (its first statement is an UPDATE)."""
    if session.get_bind().dialect.name == "postgresql":
        found = await session.scalar(select(Account.id).where(Account.id == account_id).with_for_update())
    else:
        result = await session.execute(update(Account).where(Account.id == account_id).values(id=Account.id))
        found = account_id if result.rowcount else None  # type: ignore[attr-defined]
    if found is None:
        raise UnknownAccount(account_id)


async def balance(session: AsyncSession, account_id: str) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(CreditEntry.account_id == account_id)
    )
    return int(total or 0)


async def held(session: AsyncSession, account_id: str) -> int:
    """Credits reserved for calls that are not settled yet."""
    total = await session.scalar(
        select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(
            CreditEntry.account_id == account_id, CreditEntry.kind.in_((RESERVE, RELEASE))
        )
    )
    return -int(total or 0)


async def _has_ref(session: AsyncSession, ref: str) -> bool:
    return await session.scalar(select(CreditEntry.id).where(CreditEntry.ref == ref)) is not None


async def _add(
    session: AsyncSession,
    account_id: str,
    kind: str,
    amount: int,
    *,
    ref: str | None = None,
    call_id: str | None = None,
    note: str | None = None,
) -> None:
    session.add(
        CreditEntry(
            account_id=account_id, kind=kind, amount=amount, ref=ref, call_id=call_id, note=note, created_at=utcnow()
        )
    )
    await session.flush()


async def top_up(session: AsyncSession, account_id: str, amount: int, *, note: str | None = None) -> int:
    if amount <= 0:
        raise ValueError("a top-up must be a positive number of credits")
    await lock_account(session, account_id)
    await _add(session, account_id, TOPUP, amount, note=note)
    return await balance(session, account_id)


async def top_up_once(
    session: AsyncSession, account_id: str, amount: int, *, ref: str, note: str | None = None
) -> tuple[CreditEntry, bool]:
    """A top-up written at most once per ``ref``: (the entry, True) when written now, (the entry already written
    under ``ref``, False) otherwise; the caller compares that entry with its request. The check runs under the
    account lock, so two retries of one request cannot both write."""
    if amount <= 0:
        raise ValueError("a top-up must be a positive number of credits")
    await lock_account(session, account_id)
    found = await session.scalar(select(CreditEntry).where(CreditEntry.ref == ref))
    if found is not None:
        return found, False
    await _add(session, account_id, TOPUP, amount, ref=ref, note=note)
    entry = await session.scalar(select(CreditEntry).where(CreditEntry.ref == ref))
    assert entry is not None
    return entry, True


async def balance_through(session: AsyncSession, account_id: str, entry_id: int) -> int:
    """The balance right after entry ``entry_id`` (entries are numbered in the order they were written)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(
            CreditEntry.account_id == account_id, CreditEntry.id <= entry_id
        )
    )
    return int(total or 0)


async def reserve(session: AsyncSession, account_id: str, call_id: str, amount: int) -> bool:
    """Hold ``amount`` for a call about to be dialed; False (and nothing written) when the balance is short.
    The caller holds ``lock_account``."""
    ref = f"{call_id}:reserve"
    if await _has_ref(session, ref):
        return True
    if await balance(session, account_id) < amount:
        return False
    await _add(session, account_id, RESERVE, -amount, ref=ref, call_id=call_id)
    return True


def billed_seconds(duration_s: float, max_call_s: int) -> int:
    """Per started second, never beyond the call's maximum (what was reserved)."""
    if duration_s <= 0:
        return 0
    return min(math.ceil(duration_s - 1e-9), max_call_s)


async def settle(
    session: AsyncSession,
    account_id: str,
    call_id: str,
    *,
    reserved: int,
    duration_s: float,
    max_call_s: int,
    rate: int,
) -> Settlement:
    """Release the hold and charge the started seconds; a second settle of the same call writes nothing. The
    caller holds ``lock_account``. The charge never exceeds the hold, so the balance never goes negative."""
    seconds = billed_seconds(duration_s, max_call_s)
    charge = min(seconds * rate, reserved)
    released = 0
    if not await _has_ref(session, f"{call_id}:release"):
        await _add(session, account_id, RELEASE, reserved, ref=f"{call_id}:release", call_id=call_id)
        released = reserved
    charged = 0
    if charge > 0 and not await _has_ref(session, f"{call_id}:charge"):
        await _add(session, account_id, CHARGE, -charge, ref=f"{call_id}:charge", call_id=call_id)
        charged = charge
    return Settlement(billed_seconds=seconds, charged=charged, released=released)


async def release(session: AsyncSession, account_id: str, call_id: str, reserved: int) -> int:
    """Give the hold back for a call that was not answered, failed or was skipped."""
    return (await settle(session, account_id, call_id, reserved=reserved, duration_s=0, max_call_s=0, rate=0)).released


async def spend_since(session: AsyncSession, account_id: str, since: datetime) -> int:
    """Charges since ``since`` plus the holds still open: what the account has spent or committed to."""
    charged = await session.scalar(
        select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(
            CreditEntry.account_id == account_id, CreditEntry.kind == CHARGE, CreditEntry.created_at >= since
        )
    )
    return -int(charged or 0) + await held(session, account_id)


async def calls_since(session: AsyncSession, account_id: str, since: datetime) -> int:
    count = await session.scalar(
        select(func.count()).where(
            CreditEntry.account_id == account_id, CreditEntry.kind == RESERVE, CreditEntry.created_at >= since
        )
    )
    return int(count or 0)


async def entries(session: AsyncSession, account_id: str, *, before_id: int | None, limit: int) -> list[CreditEntry]:
    q = select(CreditEntry).where(CreditEntry.account_id == account_id)
    if before_id is not None:
        q = q.where(CreditEntry.id < before_id)
    return list((await session.execute(q.order_by(CreditEntry.id.desc()).limit(limit))).scalars())
