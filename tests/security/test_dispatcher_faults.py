"""Faults the dispatcher survives, each against a real PostgreSQL server: the server restarted mid-campaign, its
disk full while a call record is written, and a carrier's REST API failing in a burst (a local HTTP server on
loopback answering as the carrier documents its errors)."""

from __future__ import annotations

import asyncio
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from loguru import logger
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.engine import make_url

from config.settings import Settings
from control_api.calls.tables import Call
from control_api.campaigns.tables import Campaign
from control_api.credits.tables import CreditEntry
from control_api.dispatch import service
from control_api.dispatch.dispositions import Disposition
from control_api.dispatch.settlement import CallResult
from control_api.dispatch.tables import DispatchLease
from control_api.dispatch.worker import Worker
from control_api.leads.tables import Lead
from control_api.storage.db import Database, create_database
from engine.records import CallRecord, TranscriptTurn
from engine.records import Outcome as EngineOutcome
from tests.dispatch.seed import phone, seed, simulated_worker
from tests.fixtures.postgres import PostgresServer, start_postgres

CREDITS = 1_000_000


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A server of this test's own: it is stopped and started again, which the session's server must not be."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def own_db(own_postgres: PostgresServer) -> AsyncIterator[tuple[str, Database]]:
    url = own_postgres.create_database("faults")
    db = create_database(url)
    await db.migrate()
    try:
        yield url, db
    finally:
        await db.dispose()


@dataclass
class Stored:
    calls: list[Call]
    leads: list[Lead]
    entries: list[CreditEntry]
    leases: int
    campaign_state: str


async def outcome(url: str, campaign_id: str) -> Stored:
    db = create_database(url)
    try:
        async with db.sessions() as s:
            calls = list((await s.scalars(select(Call).where(Call.campaign_id == campaign_id))).all())
            leads = list((await s.scalars(select(Lead).where(Lead.campaign_id == campaign_id))).all())
            entries = list((await s.scalars(select(CreditEntry))).all())
            leases = len((await s.scalars(select(DispatchLease))).all())
            campaign = await s.get(Campaign, campaign_id)
            assert campaign is not None
            return Stored(calls, leads, entries, leases, campaign.state)
    finally:
        await db.dispose()


async def settled_calls(url: str, campaign_id: str) -> int:
    return sum(c.status != "dialing" for c in (await outcome(url, campaign_id)).calls)


async def until(check: Any, *args: Any, rounds: int = 1200) -> None:
    """Wait (bounded) until ``await check(*args)`` is true; what is then true is asserted by the caller."""
    for _ in range(rounds):
        if await check(*args):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{check.__name__} never came true")


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def each_call_settled_once(o: Stored) -> None:
    releases = Counter(e.call_id for e in o.entries if e.kind == "release")
    assert {c.id for c in o.calls} == set(releases), "a call without its settlement"
    assert set(releases.values()) == {1}, "a call settled twice"
    assert not any(c.status == "dialing" for c in o.calls)
    assert o.leases == 0


# -- PostgreSQL restarted mid-campaign ---------------------------------------------------------------------------


async def test_postgres_restart_mid_campaign_loses_no_lead_and_dials_none_twice(
    own_postgres: PostgresServer, own_db: tuple[str, Database], tmp_path: Path
) -> None:
    url, db = own_db
    sd = await seed(
        url,
        tmp_path,
        [{"phone": phone(i), "metadata": {"sim": "no_answer"}} for i in range(40)],
        concurrency=10,
        retry={"max_attempts": 1, "spacing_minutes": [], "dispositions": []},
    )
    settings = Settings(sim_ring_s=0.3, dispatch_poll_s=0.05, heartbeat_s=0.2, lease_ttl_s=8, worker_max_calls=8)
    retries_before = sample("closerr_settlement_retries_total", reason="db_unavailable")
    worker = simulated_worker(db, settings)
    worker.start()
    try:
        await until(lambda: _at_least(url, sd.campaign_id, 8))
        await until(lambda: _calls_in_flight(worker))
        own_postgres.halt()
        # Calls in flight ring out meanwhile and must settle against a server that is not there.
        await asyncio.sleep(2.0)
        own_postgres.resume()
        await until(lambda: _completed(url, sd.campaign_id))
    finally:
        await worker.stop()
    o = await outcome(url, sd.campaign_id)
    assert sample("closerr_settlement_retries_total", reason="db_unavailable") > retries_before
    # Every lead dialed exactly once (max_attempts 1, no_answer final): none lost, none dialed twice, no call
    # turned into an error by the outage.
    assert Counter(c.lead_id for c in o.calls) == {lead.id: 1 for lead in o.leads}
    assert {c.status for c in o.calls} == {"no_answer"}
    assert {(lead.status, lead.attempts) for lead in o.leads} == {("no_answer", 1)}
    each_call_settled_once(o)
    assert sum(e.amount for e in o.entries) == CREDITS  # nothing billed, every hold released
    assert o.campaign_state == "completed"


async def _at_least(url: str, campaign_id: str, n: int) -> bool:
    return await settled_calls(url, campaign_id) >= n


async def _calls_in_flight(worker: Worker) -> bool:
    return bool(worker.active)


async def _completed(url: str, campaign_id: str) -> bool:
    try:
        return (await outcome(url, campaign_id)).campaign_state == "completed"
    except Exception:
        return False  # the server is still coming back


# -- the disk full while a call record is written ----------------------------------------------------------------


@pytest.fixture
def small_disk(own_postgres: PostgresServer) -> Iterator[Path]:
    """A real 4 MiB filesystem (tmpfs) the PostgreSQL server owns, to put the calls table on and fill up."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    owner = pwd.getpwnam(own_postgres.user if own_postgres._as_user else pwd.getpwuid(os.getuid()).pw_name)
    mount = Path(tempfile.mkdtemp(prefix="closerr-small-disk-"))
    mount.chmod(0o755)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size=4m,mode=0700,uid={owner.pw_uid},gid={owner.pw_gid}", "tmpfs", mount],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {done.stderr.decode().strip()}")
    try:
        (mount / "pg").mkdir()
        shutil.chown(mount / "pg", owner.pw_uid, owner.pw_gid)
        yield mount
    finally:
        subprocess.run(["umount", "-l", mount], capture_output=True)
        mount.rmdir()


def fill(disk: Path) -> Path:
    """Write until the filesystem refuses: ENOSPC is what the next write there gets."""
    filler = disk / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def answered_call(call_id: str) -> CallResult:
    """A 30 s answered call whose transcript (incompressible, as speech transcripts of many turns are in bulk)
    cannot fit in what is left of the disk."""
    turns = [TranscriptTurn(role="lead", text=secrets.token_urlsafe(3000), start_s=i, end_s=i + 1) for i in range(200)]
    record = CallRecord(
        call_id=call_id, outcome=EngineOutcome.QUALIFIED, transcript=turns, duration_s=30.0, ended_by="bot"
    )
    return CallResult(Disposition.COMPLETED, outcome="qualified", record=record)


async def test_disk_full_while_writing_a_call_record_bills_once_and_shows_the_error(
    own_postgres: PostgresServer, own_db: tuple[str, Database], small_disk: Path, tmp_path: Path
) -> None:
    url, db = own_db
    sd = await seed(
        url, tmp_path, [{"phone": phone(1)}], retry={"max_attempts": 1, "spacing_minutes": [], "dispositions": []}
    )
    worker = simulated_worker(db, Settings(heartbeat_s=0.2))
    await service.advance_campaigns(db)
    (job,) = (await service.claim(db, worker.cfg, sd.campaign_id, sd.account_id, slots=1)).jobs
    database = str(make_url(url).database)
    own_postgres.psql(database, f"CREATE TABLESPACE small_disk LOCATION '{small_disk / 'pg'}'")
    own_postgres.psql(database, "ALTER TABLE calls SET TABLESPACE small_disk")
    filler = fill(small_disk)
    warnings: list[str] = []
    sink = logger.add(lambda m: warnings.append(str(m)), level="WARNING", format="{message}")
    before = sample("closerr_settlement_retries_total", reason="disk_full")
    settling = asyncio.create_task(worker._finish(job, answered_call(job.call_id)))
    try:
        await until(lambda: _retried(before))
        # Nothing half-written: the call is still open, not billed, its hold still held, the lead still dialing.
        o = await outcome(url, sd.campaign_id)
        (call,) = o.calls
        assert call.status == "dialing" and call.record is None
        assert [e.kind for e in o.entries if e.call_id == job.call_id] == ["reserve"]
        assert o.leases == 1 and [lead.status for lead in o.leads] == ["dialing"]
        assert any(f"settling call {job.call_id} failed (disk_full)" in line for line in warnings), warnings
    finally:
        filler.unlink()  # the operator frees the disk
        await settling
        logger.remove(sink)
    o = await outcome(url, sd.campaign_id)
    (call,) = o.calls
    assert call.status == "completed" and call.record is not None and len(call.transcript or []) == 200
    mine = [(e.kind, e.amount) for e in o.entries if e.call_id == job.call_id]
    held = -dict(mine)["reserve"]
    assert sorted(mine) == sorted([("reserve", -held), ("release", held), ("charge", -30)])  # billed once
    assert [lead.status for lead in o.leads] == ["completed"]
    each_call_settled_once(o)


async def _retried(before: float) -> bool:
    return sample("closerr_settlement_retries_total", reason="disk_full") > before
