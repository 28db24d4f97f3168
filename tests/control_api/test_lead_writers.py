"""The bulk lead writers' housekeeping: what they leave on pooled connections and when the WAL is copied."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from control_api.storage.repositories import lead_upload_sqlite
from control_api.storage.repositories.lead_upload_sqlite import SqliteLeadWriter
from tests.control_api.helpers import Tenant, create_campaign, upload_csv


async def test_sqlite_upload_checkpoints_after_the_commit(
    client: AsyncTestClient[Litestar], tenant: Tenant, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's WAL checkpoint")
    path = database_url.split("///", 1)[1]
    done = threading.Event()
    checkpointed: list[str] = []
    real_checkpoint = lead_upload_sqlite._checkpoint

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

    monkeypatch.setattr(lead_upload_sqlite, "_checkpoint", checkpoint)
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
