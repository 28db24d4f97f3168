"""SQLite upload writer: rows go to a temporary staging table as they stream; two set-based statements finish.

Each batch is checked against the DND registry and the client's suppression list for the campaign's category
while the file streams, on read-only connections (two, each with its own thread, so two batches are checked at
once; WAL readers take no lock), and staged with its verdict, 128 rows per INSERT, in the order the batches
came. ``finish`` marks rows already in the campaign (``duplicate``, which wins over ``dnd_blocked``) and inserts
the rest into ``leads``. The staging table lives in SQLite's temp database, so streaming the file takes no lock
on the main database; the upload row is the first write there, taking the write lock before any read of the
real tables on the writing connection, so a concurrent commit cannot invalidate this transaction's snapshot
halfway. A database without a file (``:memory:``) has no second connection: it is scrubbed in ``finish``. The
commit skips SQLite's automatic checkpoint; a thread runs it after the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import uuid
from array import array
from collections.abc import Iterable
from datetime import datetime
from itertools import chain
from typing import Any

import aiosqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from control_api.dnd.tables import REGISTRY_SCOPE
from control_api.leads.tables import LeadUpload
from control_api.leads.writer import Check, StagedRow, UploadContext
from control_api.storage.bulk import driver_connection, sqlite_ts

_BLOCKED = "(e.blocked_all OR (e.categories & ?) = 0)"

_READERS = 2  # registry probes of two batches at once, each on its own connection and thread
_DB_REASONS = ("duplicate", "dnd_blocked")  # what ``finish`` marks rows with
_FETCH_ROWS = 10_000
_ROWS_PER_INSERT = 128  # 7 parameters each, far below SQLite's 32766

log = logging.getLogger(__name__)


def _checkpoint(path: str) -> None:
    """Copy the WAL into the database file on a connection of its own; PASSIVE waits for no one."""
    try:
        conn = sqlite3.connect(path, timeout=30)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()
    except sqlite3.Error:
        log.warning("checkpoint after a lead upload failed", exc_info=True)


class SqliteLeadWriter:
    def __init__(self, session: AsyncSession, ctx: UploadContext) -> None:
        self.session = session
        self.ctx = ctx
        self.table = f"lead_stage_{uuid.uuid4().hex[:12]}"
        self._driver: Any = None
        self._readers: list[aiosqlite.Connection] = []
        self._idle_readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._path: str | None = None
        self._autocheckpoint: int | None = None
        # Batches are added by overlapping tasks: two scrubs may run at once (one reader each), while an earlier
        # batch is staged; staging keeps the order the batches were added in.
        self._last_staged: asyncio.Future[None] | None = None  # set when the latest batch added is staged

    def stage_time(self, value: datetime) -> Any:
        return sqlite_ts(value)

    async def start(self) -> None:
        self._driver = await driver_connection(self.session)
        # line is the rowid: staged in file order, read back in file order without a sort.
        await self._driver.execute(
            f"CREATE TEMP TABLE {self.table} (line INTEGER PRIMARY KEY, phone INTEGER, name TEXT, metadata TEXT, "
            "consent_source TEXT, consent_at TEXT, consent_purpose TEXT, reason TEXT)"
        )
        bind = self.session.bind
        url = bind.url if isinstance(bind, AsyncEngine) else bind.engine.url if bind is not None else None
        path = url.database if url is not None else None
        if path and path != ":memory:" and not path.startswith("file:"):
            self._path = path
            for _ in range(_READERS):
                reader = await aiosqlite.connect(path, timeout=30)
                self._readers.append(reader)
                # The engine's page cache size: the default 2 MB would re-read the registry index's upper levels.
                await reader.execute("PRAGMA cache_size=-65536")
                self._idle_readers.put_nowait(reader)

    async def _blocked(self, rows: list[StagedRow]) -> set[int]:
        # In number order, consecutive probes walk neighbouring index pages. One seek per number (``+`` keeps
        # the scope out of the index search: two seeks, one per scope, cost ~10 % more).
        phones = "[" + ",".join([str(p) for p in sorted({r[1] for r in rows})]) + "]"
        reader = await self._idle_readers.get()
        try:
            cursor = await reader.execute(
                "SELECT j.value FROM json_each(?) j WHERE EXISTS (SELECT 1 FROM dnd_entries e "
                f"WHERE e.phone = j.value AND +e.scope IN (?, ?) AND {_BLOCKED})",
                (phones, REGISTRY_SCOPE, self.ctx.account_id, 1 << (self.ctx.category - 1)),
            )
            found = await cursor.fetchall()
            await cursor.close()
        finally:
            self._idle_readers.put_nowait(reader)
        return {int(r[0]) for r in found}

    async def add(self, rows: list[StagedRow]) -> None:
        if not rows:
            return
        previous, mine = self._last_staged, asyncio.get_running_loop().create_future()
        self._last_staged = mine
        try:
            blocked = await self._blocked(rows) if self._readers else set()
            if previous is not None:
                await previous  # one batch staged at a time, in order
            if blocked:
                await self._stage([r for r in rows if r[1] in blocked], "'dnd_blocked'")
                rows = [r for r in rows if r[1] not in blocked]
            await self._stage(rows, "NULL")
        finally:
            # Also when this batch failed (which fails the upload): the next one must not wait forever, but
            # still waits for the batches before this one.
            if previous is not None and not previous.done():
                previous.add_done_callback(lambda _: None if mine.done() else mine.set_result(None))
            elif not mine.done():
                mine.set_result(None)

    async def _stage(self, rows: list[StagedRow], reason: str) -> None:
        """Many rows per INSERT: the driver's thread then takes the GIL once per statement to bind them, not
        once per row, which matters while the parser's thread wants it too."""
        head = (
            f"INSERT INTO {self.table} (line, phone, name, metadata, consent_source, consent_at, consent_purpose, "
            "reason) VALUES "
        )
        values = f"(?, ?, ?, ?, ?, ?, ?, {reason})"
        full = len(rows) - len(rows) % _ROWS_PER_INSERT
        if full:
            await self._driver.executemany(
                head + ",".join([values] * _ROWS_PER_INSERT),
                [list(chain.from_iterable(rows[i : i + _ROWS_PER_INSERT])) for i in range(0, full, _ROWS_PER_INSERT)],
            )
        if full < len(rows):
            await self._driver.executemany(head + values, rows[full:])

    async def finish(self, upload: LeadUpload, check: Check) -> tuple[int, Iterable[tuple[int, str]]]:
        ctx, d, t = self.ctx, self._driver, self.table
        self.session.add(upload)
        await self.session.flush()
        await check()
        cursor = await d.execute("SELECT EXISTS (SELECT 1 FROM leads WHERE campaign_id = ?)", (ctx.campaign_id,))
        row = await cursor.fetchone()
        await cursor.close()
        if row is not None and row[0]:  # a campaign's first upload (the common case) has nothing to repeat
            await d.execute(
                f"UPDATE {t} SET reason = 'duplicate' WHERE EXISTS "
                f"(SELECT 1 FROM leads l WHERE l.campaign_id = ? AND l.phone = {t}.phone)",
                (ctx.campaign_id,),
            )
        if not self._readers:
            await d.execute(
                f"UPDATE {t} SET reason = 'dnd_blocked' WHERE reason IS NULL AND EXISTS "
                f"(SELECT 1 FROM dnd_entries e WHERE e.phone = {t}.phone AND e.scope IN (?, ?) AND {_BLOCKED})",
                (REGISTRY_SCOPE, ctx.account_id, 1 << (ctx.category - 1)),
            )
        a_source, a_at, a_purpose = ctx.attestation if ctx.attestation else (None, None, None)
        cursor = await d.execute(
            "INSERT INTO leads (account_id, campaign_id, upload_id, line, phone, name, metadata, consent_source, "
            "consent_at, consent_purpose, consent_attested_by, status, attempts, created_at) "
            "SELECT ?, ?, ?, line, phone, name, metadata, COALESCE(consent_source, ?), COALESCE(consent_at, ?), "
            f"COALESCE(consent_purpose, ?), ?, 'pending', 0, ? FROM {t} WHERE reason IS NULL ORDER BY line",
            (
                ctx.account_id,
                ctx.campaign_id,
                ctx.upload_id,
                a_source,
                None if a_at is None else sqlite_ts(a_at),
                a_purpose,
                ctx.attested_by,
                sqlite_ts(ctx.now),
            ),
        )
        accepted = int(cursor.rowcount)
        await cursor.close()
        cursor = await d.execute(f"SELECT line, reason FROM {t} WHERE reason IS NOT NULL ORDER BY line")
        lines, reasons = array("q"), bytearray()  # nine bytes a row, however many were refused
        codes = {name: code for code, name in enumerate(_DB_REASONS)}
        while batch := await cursor.fetchmany(_FETCH_ROWS):
            for line, reason in batch:
                lines.append(int(line))
                reasons.append(codes[str(reason)])
        await cursor.close()
        rejected = zip(lines, (_DB_REASONS[code] for code in reasons), strict=True)
        if self._path is not None:
            # The commit would run SQLite's automatic checkpoint (copying the WAL, a few hundred MB for a
            # million rows, into the database file) before the caller could answer; ``drop`` runs it after.
            cursor = await d.execute("PRAGMA wal_autocheckpoint")
            row = await cursor.fetchone()
            await cursor.close()
            self._autocheckpoint = int(row[0]) if row is not None else 1000
            await d.execute("PRAGMA wal_autocheckpoint=0")
        return accepted, rejected

    async def drop(self) -> None:
        """After the commit or the rollback. SQLite keeps temp tables for the life of the pooled connection."""
        for reader in self._readers:
            with contextlib.suppress(Exception):
                await reader.close()
        self._readers = []
        if self._driver is not None:
            # The connection may be gone; the table dies with it then.
            with contextlib.suppress(Exception):
                await self._driver.execute(f"DROP TABLE IF EXISTS {self.table}")
            if self._autocheckpoint is not None:
                with contextlib.suppress(Exception):
                    await self._driver.execute(f"PRAGMA wal_autocheckpoint={self._autocheckpoint}")
        if self._autocheckpoint is not None and self._path is not None:
            # In the background, like PostgreSQL's checkpointer: the upload is committed (in the WAL) already.
            threading.Thread(target=_checkpoint, args=(self._path,), name="lead-upload-checkpoint", daemon=True).start()
            self._autocheckpoint = None
