"""The engine alone as an HTTP/WebSocket app: carrier media streams at ``/media/{carrier}``, the records of recent
calls, ``/health`` and ``/metrics``, without the control API (``python -m closerr.engine_server`` serves it for
``closerr simulate``, the benchmarks and the end-to-end tests)."""

from __future__ import annotations

from litestar import Litestar

from engine.facade import Engine
from metrics.litestar import loop_lag_lifespan
from metrics.litestar import route_handlers as metrics_route_handlers


def create_engine_app(engine: Engine) -> Litestar:
    async def warm_up() -> None:
        # Load the models before the first call arrives, off the event loop.
        await engine.ready()

    return Litestar(
        route_handlers=[*engine.route_handlers(include_records=True), engine.health_handler(), *metrics_route_handlers],
        on_startup=[warm_up],
        lifespan=[loop_lag_lifespan],
    )
