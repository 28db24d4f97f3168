"""``GET /metrics`` for Litestar apps (control API and engine servers). Litestar is imported only here so the
rest of ``metrics`` stays importable without a web framework."""

from __future__ import annotations

from litestar import MediaType, Response, get

from metrics.exposition import render


# sync_to_thread: rendering may read mmap files (multiprocess mode); keep it off the event loop.
@get("/metrics", sync_to_thread=True, include_in_schema=False, media_type=MediaType.TEXT)
def metrics_endpoint() -> Response[bytes]:
    body, content_type = render()
    # Litestar appends "; charset=utf-8" to text/* media types itself; a second one confuses strict parsers.
    media_type = "; ".join(part for part in content_type.split("; ") if not part.startswith("charset="))
    return Response(content=body, media_type=media_type)


# Mount as ``Litestar(route_handlers=[..., metrics_endpoint])``; ``metrics.loop_lag.running`` fits a lifespan.
route_handlers = [metrics_endpoint]
