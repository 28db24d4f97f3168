"""Prompt updates for live views. Workers publish the progress of their calls on the lease rows and, on PostgreSQL,
NOTIFY ``closerr_live`` with the account id (``control_api.dispatch.progress``). The API process LISTENs on its own
connection and wakes the console's Live page poll of that account, which then reads the rows at once.

The rows are the truth; the notification only shortens the wait. Without it (SQLite, or the listening connection
lost until it is back) ``changed`` answers at once and the page simply polls every second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from control_api.dispatch.progress import LIVE_CHANNEL
from control_api.storage.db import Database

log = logging.getLogger(__name__)

WAIT_S = 1.0  # the longest a page's poll is held: elapsed times still tick every second
RECONNECT_S = 2.0


class LiveFeed:
    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Event] = {}
        self.listening = False

    def notify(self, account_id: str) -> None:
        event = self._waiting.pop(account_id, None)
        if event is not None:
            event.set()

    async def changed(self, account_id: str, timeout_s: float = WAIT_S) -> bool:
        """Wait (at most ``timeout_s``) until a worker publishes progress of the account's calls; answers whether
        one did. Not listening, it answers False at once."""
        if not self.listening:
            return False
        event = self._waiting.setdefault(account_id, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def listen(self, dsn: str) -> None:
        """LISTEN until cancelled, connecting again after the connection is lost."""
        while True:
            try:
                conn = await asyncpg.connect(dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("live calls: cannot listen for progress (%s); pages poll meanwhile", type(exc).__name__)
                await asyncio.sleep(RECONNECT_S)
                continue
            try:
                await self._listen_on(conn)
            finally:
                self.listening = False
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close(timeout=5))
            await asyncio.sleep(RECONNECT_S)

    async def _listen_on(self, conn: asyncpg.Connection) -> None:
        """Until the connection is lost."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            await conn.add_listener(LIVE_CHANNEL, self._on_notification)
            self.listening = True
            await lost.wait()

    def _on_notification(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.notify(payload)


def listen_dsn(db: Database) -> str | None:
    """The plain asyncpg address of the app's database (None on SQLite: no notifications there)."""
    if db.dialect != "postgresql":
        return None
    return make_url(db.engine.url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def live_feed_lifespan(app: Any) -> AsyncIterator[None]:
    """``app.state.live_feed``, listening on PostgreSQL while the app runs (after its own lifespan opened the db)."""
    feed = LiveFeed()
    app.state.live_feed = feed
    dsn = listen_dsn(app.state.db)
    task = None if dsn is None else asyncio.create_task(feed.listen(dsn), name="live-feed")
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
