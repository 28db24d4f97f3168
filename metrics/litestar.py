"""``GET /metrics`` and an event-loop-lag lifespan for Litestar apps (control API and engine servers).

Litestar is imported only here so the rest of ``metrics`` stays importable without a web framework. Mount with
``Litestar(route_handlers=[..., metrics_endpoint], lifespan=[..., loop_lag_lifespan])``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, MediaType, Response, get

from metrics import loop_lag
from metrics.exposition import render


# sync_to_thread: rendering may read mmap files (multiprocess mode); keep it off the event loop.
@get("/metrics", sync_to_thread=True, include_in_schema=False, media_type=MediaType.TEXT)
def metrics_endpoint() -> Response[bytes]:
    body, content_type = render()
    # Litestar appends "; charset=utf-8" to text/* media types itself; a second one confuses strict parsers.
    media_type = "; ".join(part for part in content_type.split("; ") if not part.startswith("charset="))
    return Response(content=body, media_type=media_type)


route_handlers = [metrics_endpoint]


@asynccontextmanager
async def loop_lag_lifespan(_app: Litestar) -> AsyncIterator[None]:
    """Measure the server's event-loop lag and garbage-collection pauses (``closerr_event_loop_lag_seconds``,
    ``closerr_gc_pause_seconds``) for as long as it runs."""
    async with loop_lag.running(loop_lag.DEFAULT_INTERVAL_S):
        yield
