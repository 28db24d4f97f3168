"""Cutting the old end of the audit log after its one-year clock, without making the cut look like tampering.

Only a prefix of the chain is removed (everything up to the newest entry older than the cutoff), and the head row
records the last removed entry as the new anchor in the same transaction; the verifier starts from that anchor.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.audit.guard import close_retention_gate, open_retention_gate
from control_api.audit.tables import CHAIN_HEAD_ID, AuditChainHead, AuditEntry


async def count_expired(session: AsyncSession, cutoff: datetime) -> int:
    last = await session.scalar(select(func.max(AuditEntry.seq)).where(AuditEntry.occurred_at < cutoff))
    if last is None:
        return 0
    return int(await session.scalar(select(func.count()).where(AuditEntry.seq <= last)) or 0)


async def prune_expired(session: AsyncSession, cutoff: datetime) -> int:
    """Delete entries older than ``cutoff`` (a chain prefix) in the caller's transaction; returns the count."""
    last = await session.scalar(select(func.max(AuditEntry.seq)).where(AuditEntry.occurred_at < cutoff))
    if last is None:
        return 0
    anchor_hash = await session.scalar(select(AuditEntry.entry_hash).where(AuditEntry.seq == last))
    # The head row lock also keeps appends out while the anchor moves.
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(AuditChainHead.id).where(AuditChainHead.id == CHAIN_HEAD_ID).with_for_update())
    await open_retention_gate(session)
    try:
        result = await session.execute(delete(AuditEntry).where(AuditEntry.seq <= last))
    finally:
        await close_retention_gate(session)
    await session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == CHAIN_HEAD_ID)
        .values(anchor_seq=last, anchor_hash=anchor_hash)
    )
    return int(getattr(result, "rowcount", 0) or 0)
