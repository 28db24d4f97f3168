"""The retention job's schedule inside the server.

State lives in ``privacy_jobs`` (next run, lease, last result), not in memory: a restarted server continues the
same schedule (a run missed while it was down happens at once, then the grid resumes), and with several workers
only the one holding the lease runs the purge.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from config.settings import Settings
from control_api.privacy import repository as repo
from control_api.privacy.purge import RetentionReport, run_retention
from control_api.privacy.retention_policy import next_run
from control_api.storage.db import Database

log = logging.getLogger(__name__)

JOB_NAME = "retention"
# A run that crashed mid-way (process killed) must not block the job forever: the lease expires.
LEASE = timedelta(minutes=30)
FIRST_RUN_DELAY_S = 60.0


class RetentionScheduler:
    def __init__(self, db: Database, settings: Settings, *, poll_s: float | None = None) -> None:
        self.db = db
        self.settings = settings
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        interval = settings.retention_interval_s
        self.poll_s = poll_s if poll_s is not None else max(0.05, min(60.0, interval / 4))
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def tick(self, now: datetime | None = None) -> RetentionReport | None:
        """Run the purge if it is due and this process gets the lease; returns the report of a run."""
        now = now or datetime.now(UTC)
        async with self.db.sessions() as session:
            # A fresh database gets its first run shortly after startup, not in the middle of it.
            first_run = now + timedelta(seconds=min(self.settings.retention_interval_s, FIRST_RUN_DELAY_S))
            job = await repo.claim_job(session, JOB_NAME, self.owner, now, now + LEASE, first_run=first_run)
            scheduled = job.next_run_at if job is not None else None
            await session.commit()  # also keeps a newly created schedule row
        if scheduled is None:
            return None
        try:
            report = await run_retention(self.db, self.settings, now=now)
            result = report.to_json()
        except Exception as exc:
            # Recorded and retried on the next slot; the type only, since a message could quote data.
            log.exception("retention run failed")
            report, result = None, json.dumps({"error": type(exc).__name__})
        finished = datetime.now(UTC)
        async with self.db.sessions() as session:
            job = await repo.get_job(session, JOB_NAME)
            assert job is not None
            job.next_run_at = next_run(scheduled, self.settings.retention_interval_s, max(finished, now))
            job.last_finished_at = finished
            job.last_result = result
            job.runs += 1
            job.lease_owner = None
            job.lease_until = None
            await session.commit()
        return report

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("retention scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.poll_s)

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name="closerr-retention")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            task, self._task = self._task, None
            with contextlib.suppress(asyncio.CancelledError):
                await task
