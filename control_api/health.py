"""``GET /health``: liveness plus a database round trip."""

from __future__ import annotations

from typing import cast

import msgspec
from litestar import Response, get
from litestar.datastructures import State
from sqlalchemy import text

from control_api.storage.db import Database


class Health(msgspec.Struct):
    status: str
    database: str


@get("/health", tags=["health"], security=[])
async def health(state: State) -> Response[Health]:
    db = cast(Database, state.db)
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return Response(Health(status="degraded", database="unreachable"), status_code=503)
    return Response(Health(status="ok", database=db.dialect))
