"""Making deleted personal data actually leave the SQLite file.

SQLite leaves a deleted row's bytes in the freed page, and its write-ahead log keeps older page images until a
checkpoint: a grep of the file would still find an erased number. ``secure_delete`` zeroes freed content and a
TRUNCATE checkpoint empties the WAL. PostgreSQL never shows deleted rows to clients or ``pg_dump``; autovacuum
reclaims the space.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.storage.db import Database


async def begin_secure_delete(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("PRAGMA secure_delete = ON"))


async def flush_deleted_pages(db: Database) -> None:
    """After the erasing transaction committed: fold the WAL into the main file and truncate it."""
    if db.dialect != "sqlite":
        return
    async with db.engine.connect() as conn:
        await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def harden_data_dir(data_dir: Path) -> None:
    """Owner-only access to the data directory (SQLite file, audio): the files inside inherit no access for other
    users of the machine through a closed directory. Blocking: call it off the event loop."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if data_dir.stat().st_uid != os.geteuid():
        return  # someone else's directory (a shared mount): its owner decides
    os.chmod(data_dir, 0o700)
    for child in (data_dir / "audio",):
        if child.is_dir():
            os.chmod(child, 0o700)
    for db_file in data_dir.glob("*.sqlite3*"):
        os.chmod(db_file, 0o600)
