"""The progress of the calls a worker runs, published on their lease rows so that any process can show them live
(the API may run without a worker: ``closerr serve --no-worker`` next to ``closerr worker`` processes).

A worker publishes at most once per ``PUBLISH_S`` and only calls whose progress changed since its last publish,
each in its own short transaction. On PostgreSQL that transaction notifies ``LIVE_CHANNEL`` with the account id,
so a listening API process learns of the change when it commits; readers also work without it by reading the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.dispatch.tables import DispatchLease
from engine.records import CallRecord

PUBLISH_S = 1.0
LIVE_CHANNEL = "closerr_live"
LINE_MAX = 280  # enough to follow a call; a long monologue is cut

RINGING, ANSWERED, TALKING = "ringing", "answered", "talking"


@dataclass(frozen=True)
class Progress:
    state: str
    turns: int = 0
    role: str | None = None
    text: str | None = None


def progress_of(record: CallRecord | None) -> Progress:
    """``record`` is the engine's record of a call whose media is up, None while it still rings."""
    if record is None:
        return Progress(RINGING)
    transcript = list(record.transcript)
    if not transcript:
        return Progress(ANSWERED)
    last = transcript[-1]
    return Progress(TALKING, len(transcript), last.role, last.text[:LINE_MAX])


async def publish(
    session: AsyncSession, worker_id: str, call_id: str, account_id: str, progress: Progress, now: datetime
) -> None:
    """Write the progress of one of this worker's calls (a lease another worker took over is left alone) and, on
    PostgreSQL, notify listeners of its account. One call per transaction: holding a single lease row, a publish
    can never be part of a lock cycle with the heartbeat, a settlement or the reaper."""
    await session.execute(
        update(DispatchLease)
        .where(DispatchLease.call_id == call_id, DispatchLease.worker_id == worker_id)
        .values(
            live_state=progress.state,
            live_turns=progress.turns,
            live_role=progress.role,
            live_text=progress.text,
            live_at=now,
        )
    )
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": LIVE_CHANNEL, "payload": account_id}
        )
