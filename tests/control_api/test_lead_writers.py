"""The bulk lead writers' housekeeping: what they leave on pooled connections and when the WAL is copied."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from control_api.leads import writer_sqlite
from control_api.leads.tables import Lead
from control_api.leads.writer import StagedRow, UploadContext
from control_api.leads.writer_sqlite import SqliteLeadWriter
from control_api.storage.db import Database
from tests.control_api.helpers import Tenant, create_campaign, upload_csv


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # SQLite's WAL checkpoint
async def test_sqlite_upload_checkpoints_after_the_commit(
    client: AsyncTestClient[Litestar], tenant: Tenant, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = database_url.split("///", 1)[1]
    done = threading.Event()
    checkpointed: list[str] = []
    real_checkpoint = writer_sqlite._checkpoint

    def checkpoint(p: str) -> None:
        real_checkpoint(p)
        checkpointed.append(p)
        done.set()

    autocheckpoint: list[int] = []
    drop = SqliteLeadWriter.drop

    async def drop_and_look(self: Any) -> None:
        await drop(self)
        cursor = await self._driver.execute("PRAGMA wal_autocheckpoint")
        autocheckpoint.append((await cursor.fetchone())[0])
        await cursor.close()

    monkeypatch.setattr(writer_sqlite, "_checkpoint", checkpoint)
    monkeypatch.setattr(SqliteLeadWriter, "drop", drop_and_look)
    c = await create_campaign(client, tenant)
    r = await upload_csv(client, tenant, c["id"], "phone\n" + "".join(f"98765{i:05d}\n" for i in range(3000)))
    assert r.status_code == 200 and r.json()["accepted"] == 3000
    assert done.wait(30)
    assert checkpointed == [path]
    assert autocheckpoint == [1000]  # the pooled connection checkpoints automatically again
    # The database file itself (the WAL ignored) holds the upload: the checkpoint copied it.
    main_file = sqlite3.connect(f"{Path(path).as_uri()}?immutable=1", uri=True)
    try:
        assert main_file.execute("SELECT count(*) FROM leads").fetchone()[0] == 3000
    finally:
        main_file.close()


async def test_many_rows_per_statement_keep_every_row_and_verdict(
    client: AsyncTestClient[Litestar], tenant: Tenant, operator: Tenant, db: Database
) -> None:
    """Batches are staged (SQLite) many rows per INSERT, with a remainder: every row lands once, in line order,
    blocked and duplicate rows reported by line."""
    blocked = [9_800_000_000 + 7 * i for i in range(300)]
    registry = "phone,preference\n" + "".join(f"{p},0\n" for p in blocked)
    r = await client.post(
        "/v1/dnd/import", content=registry.encode(), headers={**operator.headers, "Content-Type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    phones = [9_800_000_000 + i for i in range(1000)]  # every 7th of the first 2100 is blocked
    rows = [f"L{i},{p},C{i % 3}\n" for i, p in enumerate(phones)] + ["Again,9800000001,X\n"]
    c = await create_campaign(client, tenant)
    report = (await upload_csv(client, tenant, c["id"], "name,phone,city\n" + "".join(rows))).json()
    blocked_set = set(blocked)
    expected_blocked = [i + 2 for i, p in enumerate(phones) if p in blocked_set]
    assert report["rejected"] == [{"line": ln, "reason": "dnd_blocked"} for ln in expected_blocked] + [
        {"line": 1002, "reason": "duplicate"}
    ]
    assert report["accepted"] == 1000 - len(expected_blocked)
    async with db.sessions() as s:
        got = (await s.execute(select(Lead.line, Lead.phone, Lead.name, Lead.extra).order_by(Lead.id))).all()
    assert [tuple(g) for g in got] == [
        (i + 2, 910_000_000_000 + p, f"L{i}", {"city": f"C{i % 3}"})
        for i, p in enumerate(phones)
        if p not in blocked_set
    ]


async def test_sqlite_batches_are_staged_in_order_whichever_probe_ends_first() -> None:
    ctx = UploadContext("acct", "camp", "upload", 5, "ck_test", None, datetime(2026, 1, 1, tzinfo=UTC))
    writer = SqliteLeadWriter(cast(Any, None), ctx)
    writer._readers = [cast(Any, object())]  # probes are faked below
    delays = {1: 0.05, 2: 0.0, 3: 0.02, 4: 0.0, 5: 0.0}
    staged: list[int] = []

    async def blocked(rows: list[Any]) -> set[int]:
        await asyncio.sleep(delays[rows[0][0]])
        if rows[0][0] == 4:
            raise RuntimeError("probe failed")
        return set()

    async def stage(rows: list[Any], reason: str) -> None:
        staged.append(rows[0][0])

    fake = cast(Any, writer)
    fake._blocked = blocked
    fake._stage = stage
    batches: list[list[StagedRow]] = [[(i, 919800000000 + i, None, None, None, None, None)] for i in (1, 2, 3, 4, 5)]
    results = await asyncio.gather(*(writer.add(b) for b in batches), return_exceptions=True)
    assert staged == [1, 2, 3, 5]  # in the order added; a failed batch does not hold up the next one
    assert isinstance(results[3], RuntimeError) and results[:3] == [None, None, None] and results[4] is None
