"""Event-loop lag: sleep for ``interval`` and record how much later than asked the loop woke us.

A blocking call on the loop (a model run, a sync DB query) shows up here before callers hear choppy audio.
``running`` (server lifespans) also times the garbage collector's pauses (``metrics.gc_pauses``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from metrics import gc_pauses
from metrics.process import EVENT_LOOP_LAG_LAST_SECONDS, EVENT_LOOP_LAG_SECONDS

DEFAULT_INTERVAL_S = 0.25


async def monitor(interval: float = DEFAULT_INTERVAL_S) -> None:
    """Measure lag forever (until cancelled). Run it as a task: ``asyncio.create_task(monitor(0.25))``."""
    if interval <= 0:
        raise ValueError("interval must be > 0 seconds")
    loop = asyncio.get_running_loop()
    while True:
        expected = loop.time() + interval
        await asyncio.sleep(interval)
        lag = max(0.0, loop.time() - expected)
        EVENT_LOOP_LAG_SECONDS.observe(lag)
        EVENT_LOOP_LAG_LAST_SECONDS.set(lag)


def start(interval: float = DEFAULT_INTERVAL_S) -> asyncio.Task[None]:
    """Start ``monitor`` on the running loop; keep the returned task (and cancel it at shutdown)."""
    return asyncio.get_running_loop().create_task(monitor(interval), name="closerr-loop-lag")


@contextlib.asynccontextmanager
async def running(interval: float = DEFAULT_INTERVAL_S) -> AsyncIterator[asyncio.Task[None]]:
    """Monitor the loop, and the collector's pauses, for the body's duration; for server lifespans."""
    task = start(interval)
    try:
        with gc_pauses.watching():
            yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
