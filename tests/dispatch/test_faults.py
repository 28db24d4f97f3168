"""Faults the dispatcher survives, each against a real PostgreSQL server: the server restarted mid-campaign, its
disk full while a call record is written, and a carrier's REST API failing in a burst (a local HTTP server on
loopback answering as the carrier documents its errors)."""

from __future__ import annotations

import asyncio
import errno
import os
import pwd
import random
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import pytest
from loguru import logger
from prometheus_client import REGISTRY
from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.engine import make_url

from config.settings import Settings
from control_api import backoff
from control_api.calls.tables import Call
from control_api.campaigns.tables import Campaign
from control_api.credits.tables import CreditEntry
from control_api.dispatch import service
from control_api.dispatch.dispositions import Disposition
from control_api.dispatch.settlement import CallResult
from control_api.dispatch.tables import DispatchLease
from control_api.dispatch.worker import Worker
from control_api.leads.tables import Lead
from control_api.origination import registry
from control_api.origination.base import CarrierError, CarrierUnavailable, Dial
from control_api.origination.breaker import Breaker, State
from control_api.origination.guarded import GuardedCarrier
from control_api.storage.db import Database, create_database
from control_api.storage.transient import transient_reason
from engine.facade import Engine
from engine.records import CallRecord, CallRequest, TranscriptTurn
from engine.records import Lead as EngineLead
from engine.records import Outcome as EngineOutcome
from tests.dispatch.fake_carrier import FakeCarrier, Recorded
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
        # The worker runs on while the server goes down: statements in flight are cut, not just refused.
        await asyncio.to_thread(own_postgres.halt)
        # Calls in flight ring out meanwhile and must settle against a server that is not there.
        await asyncio.sleep(2.0)
        await asyncio.to_thread(own_postgres.resume)
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


# -- a carrier REST error burst --------------------------------------------------------------------------------

# The breaker's state machine, every (state, event) pair: h11-style, the table is the specification. A state is
# (state, failures in a row, opened_at, trial in flight); threshold 2, cool-down 10 s, events at t=5 (cooling)
# or t=10 (cooled).
CLOSED_0 = (State.CLOSED, 0, 0.0, False)
CLOSED_1 = (State.CLOSED, 1, 0.0, False)
OPEN = (State.OPEN, 0, 0.0, False)
HALF_FREE = (State.HALF_OPEN, 0, 0.0, False)
HALF_TRIAL = (State.HALF_OPEN, 0, 0.0, True)
STARTS = {"closed_0": CLOSED_0, "closed_1": CLOSED_1, "open": OPEN, "half_free": HALF_FREE, "half_trial": HALF_TRIAL}
EVENTS = ("allow@5", "allow@10", "permits@5", "permits@10", "success@5", "failure@5", "failure@10", "neutral@5")
# (start, event) -> (answer, state after)
TABLE: dict[tuple[str, str], tuple[object, tuple[State, int, float, bool]]] = {
    ("closed_0", "allow@5"): (True, CLOSED_0),
    ("closed_0", "allow@10"): (True, CLOSED_0),
    ("closed_0", "permits@5"): (None, CLOSED_0),
    ("closed_0", "permits@10"): (None, CLOSED_0),
    ("closed_0", "success@5"): (None, CLOSED_0),
    ("closed_0", "failure@5"): (None, CLOSED_1),
    ("closed_0", "failure@10"): (None, CLOSED_1),
    ("closed_0", "neutral@5"): (None, CLOSED_0),
    ("closed_1", "allow@5"): (True, CLOSED_1),
    ("closed_1", "allow@10"): (True, CLOSED_1),
    ("closed_1", "permits@5"): (None, CLOSED_1),
    ("closed_1", "permits@10"): (None, CLOSED_1),
    ("closed_1", "success@5"): (None, CLOSED_0),  # a success resets the count
    ("closed_1", "failure@5"): (None, (State.OPEN, 0, 5.0, False)),  # the threshold: open
    ("closed_1", "failure@10"): (None, (State.OPEN, 0, 10.0, False)),
    ("closed_1", "neutral@5"): (None, CLOSED_1),  # a 4xx says nothing of the carrier
    ("open", "allow@5"): (False, OPEN),  # cooling down: no dial
    ("open", "allow@10"): (True, HALF_TRIAL),  # cooled: the one trial dial
    ("open", "permits@5"): (0, OPEN),
    ("open", "permits@10"): (1, HALF_FREE),
    ("open", "success@5"): (None, CLOSED_0),  # a dial from before it opened got through after all
    ("open", "failure@5"): (None, OPEN),  # a late failure does not restart the cool-down
    ("open", "failure@10"): (None, OPEN),
    ("open", "neutral@5"): (None, OPEN),
    ("half_free", "allow@5"): (True, HALF_TRIAL),
    ("half_free", "allow@10"): (True, HALF_TRIAL),
    ("half_free", "permits@5"): (1, HALF_FREE),
    ("half_free", "permits@10"): (1, HALF_FREE),
    ("half_free", "success@5"): (None, CLOSED_0),
    ("half_free", "failure@5"): (None, (State.OPEN, 0, 5.0, False)),
    ("half_free", "failure@10"): (None, (State.OPEN, 0, 10.0, False)),
    ("half_free", "neutral@5"): (None, HALF_FREE),
    ("half_trial", "allow@5"): (False, HALF_TRIAL),  # one trial at a time
    ("half_trial", "allow@10"): (False, HALF_TRIAL),
    ("half_trial", "permits@5"): (0, HALF_TRIAL),
    ("half_trial", "permits@10"): (0, HALF_TRIAL),
    ("half_trial", "success@5"): (None, CLOSED_0),  # the trial went through: closed
    ("half_trial", "failure@5"): (None, (State.OPEN, 0, 5.0, False)),  # the trial failed: a new cool-down
    ("half_trial", "failure@10"): (None, (State.OPEN, 0, 10.0, False)),
    ("half_trial", "neutral@5"): (None, HALF_FREE),  # the trial told nothing: the slot is free again
}


def test_the_breaker_table_covers_every_state_and_event() -> None:
    assert set(TABLE) == {(start, event) for start in STARTS for event in EVENTS}


@pytest.mark.parametrize(("start", "event"), sorted(TABLE))
def test_breaker_transition(start: str, event: str) -> None:
    state, failures, opened_at, trial = STARTS[start]
    breaker = Breaker(threshold=2, cool_down_s=10.0, state=state, failures=failures, opened_at=opened_at)
    breaker.trial_out = trial
    name, at = event.split("@")
    answer = breaker.neutral() if name == "neutral" else getattr(breaker, name)(float(at))
    expected_answer, expected_state = TABLE[(start, event)]
    assert answer == expected_answer
    assert (breaker.state, breaker.failures, breaker.opened_at, breaker.trial_out) == expected_state


def test_a_breaker_needs_a_threshold_of_one_or_more() -> None:
    with pytest.raises(ValueError):
        Breaker(threshold=0, cool_down_s=1)


def test_backoff_grows_with_full_jitter_and_honours_retry_after() -> None:
    rng = random.Random(7)
    waits = [[backoff.delay(n, base=1.0, cap=8.0, rng=rng) for _ in range(200)] for n in range(6)]
    assert all(0 <= w <= min(8.0, 2**n) for n, row in enumerate(waits) for w in row)
    assert max(waits[0]) <= 1.0 < max(waits[3])  # the ceiling doubles
    assert min(waits[3]) < 1.0  # full jitter: workers that failed together do not come back together
    assert backoff.delay(0, base=1.0, cap=8.0, retry_after=30.0, rng=rng) == 30.0


TWILIO_429 = {
    "code": 20429,
    "message": "Too Many Requests",
    "more_info": "https://www.twilio.com/docs/errors/20429",
    "status": 429,
}
TWILIO_503 = {
    "code": 20503,
    "message": "Service Unavailable",
    "more_info": "https://www.twilio.com/docs/errors/20503",
    "status": 503,
}
TWILIO_500 = {
    "code": 20500,
    "message": "Internal Server Error",
    "more_info": "https://www.twilio.com/docs/errors/20500",
    "status": 500,
}


@pytest.fixture
def fake() -> Iterator[FakeCarrier]:
    server = FakeCarrier().start()
    yield server
    server.stop()


def twilio_settings(base: str, **extra: Any) -> Settings:
    return Settings(
        carrier="twilio",
        twilio_account_sid="AC123",
        twilio_auth_token="tok",
        twilio_from_number="+911400000000",
        twilio_api_base=base,
        **extra,
    )


def a_dial(call_id: str = "c-1") -> Dial:
    return Dial(
        call_id=call_id,
        to="+919876543210",
        caller_id=None,
        media_url="wss://w/media/twilio",
        request=CallRequest(call_id=call_id, lead=EngineLead(name="A", phone="+919876543210")),
        max_call_s=60,
        stream_token="t0k",
    )


def guarded_twilio(fake: FakeCarrier, waits: list[float], **extra: Any) -> GuardedCarrier:
    carrier = registry.build(twilio_settings(fake.url, **extra), Engine(), public_url="")
    assert isinstance(carrier, GuardedCarrier)

    async def record(seconds: float) -> None:
        waits.append(seconds)

    carrier.sleep = record
    return carrier


async def test_429_and_503_are_retried_after_backoff_no_sooner_than_retry_after(fake: FakeCarrier) -> None:
    waits: list[float] = []
    carrier = guarded_twilio(fake, waits, carrier_retries=2, carrier_backoff_s=0.5, carrier_backoff_max_s=10)
    fake.responses = [(429, TWILIO_429, {"Retry-After": "3"}), (503, TWILIO_503), (201, {"sid": "CA1"})]
    origination = await carrier.originate(a_dial())
    await carrier.aclose()
    assert origination.carrier_call_id == "CA1"
    assert len(fake.requests) == 3
    assert waits[0] >= 3.0 and 0 <= waits[1] <= 1.0  # the carrier's Retry-After, then the jittered backoff
    assert carrier.breaker.state is State.CLOSED


async def test_a_500_is_not_sent_again_at_once_it_may_have_placed_the_call(fake: FakeCarrier) -> None:
    waits: list[float] = []
    carrier = guarded_twilio(fake, waits, carrier_retries=3, carrier_breaker_cool_down_s=30)
    fake.responses = [(500, TWILIO_500)]
    with pytest.raises(CarrierUnavailable) as err:
        await carrier.originate(a_dial())
    await carrier.aclose()
    assert len(fake.requests) == 1 and waits == []
    assert err.value.retry_in_s >= 30  # the lead waits out a cool-down, not a moment
    assert "HTTP 500" in str(err.value)


async def test_a_4xx_is_the_requests_fault_not_an_outage(fake: FakeCarrier) -> None:
    carrier = guarded_twilio(fake, [], carrier_breaker_threshold=1)
    fake.responses = [(400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})]
    with pytest.raises(CarrierError) as err:
        await carrier.originate(a_dial())
    await carrier.aclose()
    assert not isinstance(err.value, CarrierUnavailable) and err.value.disposition == "error"
    assert carrier.breaker.state is State.CLOSED


async def test_an_unreachable_carrier_opens_the_breaker_and_no_request_is_sent_while_open() -> None:
    waits: list[float] = []
    settings = twilio_settings("http://127.0.0.1:9", carrier_retries=1, carrier_breaker_threshold=2)
    carrier = registry.build(settings, Engine(), public_url="")
    assert isinstance(carrier, GuardedCarrier)
    now = [100.0]
    carrier.clock = lambda: now[0]

    async def record(seconds: float) -> None:
        waits.append(seconds)

    carrier.sleep = record
    with pytest.raises(CarrierUnavailable):
        await carrier.originate(a_dial())
    assert carrier.breaker.state is State.OPEN and len(waits) == 1
    assert sample("closerr_carrier_breaker_state", carrier="twilio") == 2
    assert carrier.permits() == 0
    before = sample("closerr_carrier_faults_total", carrier="twilio", kind="breaker_open")
    with pytest.raises(CarrierUnavailable):
        await carrier.originate(a_dial("c-2"))  # refused without a request
    assert sample("closerr_carrier_faults_total", carrier="twilio", kind="breaker_open") == before + 1
    now[0] += settings.carrier_breaker_cool_down_s
    assert carrier.permits() == 1  # half-open: one trial
    assert sample("closerr_carrier_breaker_state", carrier="twilio") == 1
    await carrier.aclose()


async def test_carrier_error_burst_campaign_is_not_failed_leads_are_not_burnt_and_it_finishes(
    own_db: tuple[str, Database], fake: FakeCarrier, tmp_path: Path
) -> None:
    url, db = own_db
    leads = 6
    burst = 9  # originate requests the carrier fails before it recovers
    sd = await seed(
        url,
        tmp_path,
        [{"phone": phone(i)} for i in range(leads)],
        concurrency=10,
        retry={"max_attempts": 1, "spacing_minutes": [], "dispositions": []},
    )
    states_at_request: list[float] = []
    created: list[str] = []

    def twilio(request: Recorded) -> tuple[int, Any] | tuple[int, Any, dict[str, str]]:
        if not request.path.endswith("/Calls.json"):
            return 200, {"status": "completed"}  # the hang-up after ringing out
        states_at_request.append(sample("closerr_carrier_breaker_state", carrier="twilio"))
        if len(states_at_request) <= burst:  # Twilio's documented error bodies, 503 with Retry-After, and 500
            return (503, TWILIO_503, {"Retry-After": "0"}) if len(states_at_request) % 2 else (500, TWILIO_500)
        created.append(parse_qs(request.body.decode())["To"][0])
        return 201, {"sid": f"CA{len(created)}", "status": "queued"}

    fake.responder = twilio
    settings = twilio_settings(
        fake.url,
        carrier_retries=1,
        carrier_backoff_s=0.01,
        carrier_backoff_max_s=0.05,
        carrier_breaker_threshold=3,
        carrier_breaker_cool_down_s=0.5,
        ring_timeout_s=0.3,  # nothing streams: every placed call rings out as no_answer
        dispatch_poll_s=0.05,
        heartbeat_s=0.2,
        worker_max_calls=2,
    )
    engine = Engine()
    carrier = registry.build(settings, engine, public_url="")
    worker = Worker(db=db, settings=settings, carrier=carrier, media_base_url="ws://127.0.0.1:9", engine=engine)
    worker.start()
    try:
        await until(lambda: _breaker_opened(states_at_request))
        mid = await outcome(url, sd.campaign_id)
        assert mid.campaign_state == "running"  # an outage is not the campaign's end
        await until(lambda: _completed(url, sd.campaign_id))
    finally:
        await worker.stop()
    o = await outcome(url, sd.campaign_id)
    # While the breaker was open no request reached the carrier (2 = open, as each request found it).
    assert 2.0 not in states_at_request
    # Every lead rang exactly once, after the carrier came back: none dialed twice, none burnt by the outage.
    assert sorted(created) == sorted(phone(i) for i in range(leads))
    assert {(lead.status, lead.attempts) for lead in o.leads} == {("no_answer", 1)}
    placed = [c for c in o.calls if c.status == "no_answer"]
    assert Counter(c.lead_id for c in placed) == {lead.id: 1 for lead in o.leads}
    outage = [c for c in o.calls if c.status != "no_answer"]
    assert outage and all(c.status == "failed" and (c.error or "").startswith("carrier unavailable") for c in outage)
    each_call_settled_once(o)
    assert sum(e.amount for e in o.entries) == CREDITS  # nothing billed for the outage
    assert o.campaign_state == "completed"


async def _breaker_opened(states: list[float]) -> bool:
    return sample("closerr_carrier_breaker_state", carrier="twilio") == 2 or 1.0 in states


# -- which database failures pass by themselves -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (asyncpg.exceptions.DiskFullError("could not extend file"), "disk_full"),
        (asyncpg.exceptions.OutOfMemoryError("out of memory"), "db_resources"),
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), "db_unavailable"),
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), "db_unavailable"),
        (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"), "db_unavailable"),
        (ConnectionRefusedError(111, "Connect call failed"), "db_unavailable"),
        (OSError(errno.ENOSPC, "No space left on device"), "disk_full"),
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), None),
        (asyncpg.exceptions.UndefinedColumnError("no such column"), None),
        (ValueError("a bug"), None),
    ],
)
def test_transient_database_failures_are_told_from_bugs(error: BaseException, reason: str | None) -> None:
    wrapped = sa_exc.DBAPIError("UPDATE calls ...", None, error)  # as SQLAlchemy raises them
    assert transient_reason(wrapped) == reason


def test_a_full_sqlite_database_is_a_disk_full(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "full.sqlite3") as conn:
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.execute("PRAGMA max_page_count = 3")  # the file may not grow: SQLite answers SQLITE_FULL
        with pytest.raises(sqlite3.OperationalError) as err:
            conn.execute("INSERT INTO t VALUES (?)", ("x" * 100_000,))
    assert transient_reason(sa_exc.OperationalError("INSERT", None, err.value)) == "disk_full"
