"""Raw driver access for bulk work (COPY on PostgreSQL, executemany on SQLite) inside the session's transaction.

The ORM costs microseconds per row; a million-row upload cannot afford that, so bulk paths hand tuples straight
to the driver on the very connection (and transaction) the session holds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def driver_connection(session: AsyncSession) -> Any:
    """The aiosqlite or asyncpg connection under ``session``, with the session's transaction begun."""
    conn = await session.connection()
    # asyncpg's adapter opens its transaction lazily, on the first statement.
    await conn.execute(text("SELECT 1"))
    raw = await conn.get_raw_connection()
    return raw.driver_connection


def sqlite_ts(value: datetime) -> str:
    """The text form SQLAlchemy's SQLite DateTime reads back (naive UTC)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
