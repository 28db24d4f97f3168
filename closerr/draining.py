"""uvicorn with a drain before shutdown.

On SIGTERM, uvicorn stops accepting, then asks every open connection to shut down (a WebSocket gets close code
1012) and only then runs the app's shutdown hooks. For Closerr the open WebSockets are live phone calls: the
worker's drain in its shutdown hook would find every call already cut off (the lead hears the line drop, the call
ends as ``hung_up`` and is billed). So the first SIGTERM or SIGINT here runs the app's drain first, while the
server still serves every call's media: stop leasing, let calls in progress finish (up to
``CLOSERR_WORKER_DRAIN_S``), end the rest as ``error`` (not billed, retried once). Then uvicorn shuts down as
usual. A second signal during the drain exits at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import FrameType

import uvicorn

log = logging.getLogger(__name__)

Drain = Callable[[], Awaitable[None]]


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, drain: Drain) -> None:
        super().__init__(config)
        self._drain = drain
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining: asyncio.Task[None] | None = None

    async def serve(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)  # type: ignore[arg-type]

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._draining is not None or self._loop is None or not self.started:
            super().handle_exit(sig, frame)  # a second signal, or one before the server is up: exit now
            return
        self._captured_signals.append(sig)
        # A signal handler runs between two bytecodes of whatever the loop was doing: hand over to the loop.
        self._loop.call_soon_threadsafe(self._start_drain)

    def _start_drain(self) -> None:
        if self._draining is None:
            self._draining = asyncio.create_task(self._drain_then_exit(), name="drain")

    async def _drain_then_exit(self) -> None:
        log.info("draining: no new calls; waiting for the calls in progress")
        try:
            await self._drain()
        except Exception:
            log.exception("drain failed; shutting down")
        finally:
            self.should_exit = True


def run(app: object, drain: Drain, **options: object) -> None:
    """``uvicorn.run(app, **options)`` with the drain above."""
    config = uvicorn.Config(app, **options)  # type: ignore[arg-type]
    DrainingServer(config, drain).run()
