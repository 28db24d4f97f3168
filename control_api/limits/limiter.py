"""Fixed-window counters in ``rate_limit_windows``: one atomic upsert per counted request, so every API process
on the same database shares one count (a counter in process memory would multiply the limit by the process
count)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.errors import ApiError
from control_api.limits.tables import RateLimitWindow

# Expired windows are deleted by whichever request comes along first after this many seconds (per process).
PURGE_EVERY_S = 300.0


@dataclass(frozen=True)
class Rule:
    """At most ``limit`` counted requests per ``window_s`` seconds for one ``who`` (a client address or key id)."""

    name: str
    limit: int
    window_s: int


@dataclass(frozen=True)
class Window:
    hits: int
    resets_at: float  # unix seconds

    def retry_after(self, now: float) -> int:
        return max(1, math.ceil(self.resets_at - now))


class RateLimited(ApiError):
    def __init__(self, rule: Rule, retry_after: int, detail: str, field: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(
            429,
            "Too many requests",
            detail,
            field=field,
            slug="rate-limited",
            extra={"rule": rule.name, "limit": rule.limit, "window_seconds": rule.window_s},
            headers={"Retry-After": str(retry_after)},
        )


def _bucket(rule: Rule, who: str, now: float) -> tuple[str, float]:
    number = int(now // rule.window_s)
    return f"{rule.name}:{who}:{number}", float((number + 1) * rule.window_s)


# Per database (a process may serve several, as the tests do): when this process last deleted expired windows.
_last_purge: dict[str, float] = {}


async def hit(session: AsyncSession, rule: Rule, who: str, now: float | None = None) -> Window:
    """Count one request of ``who`` under ``rule``; answers the window's count including this one."""
    now = time.time() if now is None else now
    bucket, resets_at = _bucket(rule, who, now)
    expires = datetime.fromtimestamp(resets_at, UTC)
    bind = session.get_bind()
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(RateLimitWindow)
        .values(bucket=bucket, hits=1, expires_at=expires)
        .on_conflict_do_update(index_elements=[RateLimitWindow.bucket], set_={"hits": RateLimitWindow.hits + 1})
        .returning(RateLimitWindow.hits)
    )
    hits = int((await session.execute(stmt)).scalar_one())
    database = str(bind.engine.url)
    if now - _last_purge.get(database, 0.0) > PURGE_EVERY_S:
        _last_purge[database] = now
        await session.execute(
            delete(RateLimitWindow).where(RateLimitWindow.expires_at < datetime.fromtimestamp(now, UTC))
        )
    return Window(hits=hits, resets_at=resets_at)
