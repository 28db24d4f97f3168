"""The dispatcher on SQLite and PostgreSQL: pre-dial checks in order, leases, caps, the ledger, the fraud guard,
completion, the audit trail. The simulated carrier answers no_answer/busy/failed (no audio)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from config.settings import Settings
from control_api.audit import pseudonymize_phone
from control_api.audit.tables import AuditEntry
from control_api.calls.tables import Call
from control_api.campaigns.tables import Campaign
from control_api.credits import fraud, ledger
from control_api.credits.tables import CreditEntry
from control_api.dispatch import service
from control_api.dispatch.dispositions import Disposition
from control_api.dispatch.service import DispatchConfig
from control_api.dispatch.settlement import CallResult
from control_api.dispatch.tables import CampaignDispatch, DispatchLease
from control_api.dispatch.worker import Worker
from control_api.dnd import service as dnd
from control_api.leads.tables import Lead
from control_api.origination.simulated import SimulatedCarrier
from control_api.storage.db import Database, session_scope
from control_api.storage.types import utcnow
from engine.facade import Engine
from engine.records import CallRecord, Outcome
from tests.dispatch.conftest import open_db
from tests.dispatch.seed import ANY_HOUR, phone, seed, simulated_worker

CFG = DispatchConfig(worker_id="test-worker", lease_ttl_s=30, account_concurrency=20, rate_per_second=1, hours=ANY_HOUR)


async def leads_by_phone(db: Database, campaign_id: str) -> dict[int, Lead]:
    async with db.sessions() as s:
        rows = (await s.execute(select(Lead).where(Lead.campaign_id == campaign_id))).scalars()
        return {lead.phone: lead for lead in rows}


async def advance(db: Database) -> None:
    await service.advance_campaigns(db)


async def test_pre_dial_checks_run_in_order_and_record_dispositions(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    leads = [{"phone": phone(i), "name": f"Lead {i}"} for i in range(6)]
    sd = await seed(database_url, tmp_path, leads, concurrency=10, credits=300 * 2)  # two holds of 300
    async with session_scope(db) as s:
        # 0: an invalid number that ALSO lacks consent: invalid_number wins (first check).
        await s.execute(update(Lead).where(Lead.phone == int(phone(0)[1:])).values(phone=91123, consent_source=""))
        await s.execute(update(Lead).where(Lead.phone == int(phone(1)[1:])).values(consent_source=""))
        # 2: on the national registry, fully blocked (and without consent it would be consent_missing first).
        await dnd.add_entry(s, phone(2), "registry_import", account_id=None)
    await advance(db)
    result = await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=10)
    by_phone = await leads_by_phone(db, sd.campaign_id)
    assert by_phone[91123].status == "invalid_number"
    assert by_phone[int(phone(1)[1:])].status == "consent_missing"
    assert by_phone[int(phone(2)[1:])].status == "dnd_blocked"
    # Three callable leads, credits for two: two dialed, then balance_low pauses the campaign.
    assert len(result.jobs) == 2
    assert result.skipped["balance_low"] == 1 and result.paused_reason == "balance_low"
    async with db.sessions() as s:
        c = await s.get(Campaign, sd.campaign_id)
        assert c is not None and c.state == "paused"
        row = await s.get(CampaignDispatch, sd.campaign_id)
        assert row is not None and row.paused_reason == "balance_low"
        assert await ledger.balance(s, sd.account_id) == 0
        statuses = sorted(lead.status for lead in by_phone.values())
        assert statuses.count("pending") == 1 and statuses.count("dialing") == 2  # balance_low waits, not dropped
        skips = (
            (await s.execute(select(AuditEntry).where(AuditEntry.action.in_(("call.skip", "call.dispatch")))))
            .scalars()
            .all()
        )
    assert len(skips) == 6
    by_disposition = {json.loads(e.details)["disposition"]: e for e in skips}
    assert set(by_disposition) == {"invalid_number", "consent_missing", "dnd_blocked", "balance_low", "dialed"}
    dnd_entry = json.loads(by_disposition["dnd_blocked"].details)
    assert dnd_entry["consent_ok"] is True and dnd_entry["dnd_allowed"] is False
    assert (
        dnd_entry["started_by"].startswith("key:") and dnd_entry["window"] == "00:00-23:59 mon,tue,wed,thu,fri,sat,sun"
    )
    assert by_disposition["dnd_blocked"].subject_ref == pseudonymize_phone(phone(2))
    for entry in skips:  # no raw number anywhere in the entry
        assert phone(2)[3:] not in entry.details and phone(3)[3:] not in entry.details


async def test_outside_window_waits_for_the_next_opening(db: Database, database_url: str, tmp_path: Path) -> None:
    sd = await seed(
        database_url, tmp_path, [{"phone": phone(1)}], days=["mon"], calling_window={"start": "09:00", "end": "09:01"}
    )
    await advance(db)
    result = await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=5)
    assert result.jobs == [] and result.skipped == {"outside_window": 1}
    lead = next(iter((await leads_by_phone(db, sd.campaign_id)).values()))
    assert lead.status == "pending" and lead.next_attempt_at is not None and lead.next_attempt_at > utcnow()
    # It is not picked again before that.
    assert (await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=5)).skipped == {}


async def test_caps_leases_settlement_and_completion(db: Database, database_url: str, tmp_path: Path) -> None:
    leads = [{"phone": phone(i), "metadata": {"sim": "no_answer"}} for i in range(5)]
    sd = await seed(
        database_url,
        tmp_path,
        leads,
        concurrency=2,
        max_call_seconds=60,
        retry={"max_attempts": 1, "spacing_minutes": []},
    )
    await advance(db)
    first = await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=10)
    assert len(first.jobs) == 2  # the campaign cap
    assert (await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=10)).jobs == []
    other = DispatchConfig(worker_id="other", account_concurrency=2, hours=ANY_HOUR)
    assert (await service.claim(db, other, sd.campaign_id, sd.account_id, slots=10)).jobs == []
    job = first.jobs[0]
    record = CallRecord(
        call_id=job.call_id,
        outcome=Outcome.QUALIFIED,
        duration_s=12.2,
        slots={"x": 1},
        started_at=utcnow().isoformat(),
    )
    closed = await service.finish(
        db, CFG, job.call_id, job.lead_id, job.account_id, CallResult(Disposition.COMPLETED, "qualified", record)
    )
    assert closed is not None and closed.charged == 13
    # A retried settlement of the same call charges nothing more.
    again = await service.finish(
        db, CFG, job.call_id, job.lead_id, job.account_id, CallResult(Disposition.COMPLETED, "qualified", record)
    )
    assert again is None
    async with db.sessions() as s:
        assert await ledger.balance(s, sd.account_id) == 1_000_000 - 60 - 13  # one hold open, one charge
        charges = await s.scalar(select(func.count()).where(CreditEntry.kind == "charge"))
        assert charges == 1
    # The rest through a worker with the simulated carrier.
    settings = Settings(sim_ring_s=0.01)
    worker = simulated_worker(db, settings)
    await service.finish(
        db, CFG, first.jobs[1].call_id, first.jobs[1].lead_id, sd.account_id, CallResult(Disposition.NO_ANSWER)
    )
    for _ in range(40):
        await worker.tick()
        await asyncio.sleep(0.05)
        async with db.sessions() as s:
            c = await s.get(Campaign, sd.campaign_id)
            if c is not None and c.state == "completed":
                break
    async with db.sessions() as s:
        c = await s.get(Campaign, sd.campaign_id)
        assert c is not None and c.state == "completed"
        assert await ledger.held(s, sd.account_id) == 0
        assert await ledger.balance(s, sd.account_id) == 1_000_000 - 13
        assert await s.scalar(select(func.count()).select_from(DispatchLease)) == 0
        statuses = sorted((await s.execute(select(Lead.status))).scalars())
    assert statuses == ["completed"] + ["no_answer"] * 4


async def test_a_worker_never_leases_more_calls_than_its_engine_admits(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    leads = [{"phone": phone(i), "metadata": {"sim": "no_answer"}} for i in range(6)]
    await seed(database_url, tmp_path, leads, concurrency=6, max_call_seconds=60)
    await advance(db)
    settings = Settings(sim_ring_s=30, worker_max_calls=10, max_concurrent_calls=2)
    worker = simulated_worker(db, settings)
    try:
        assert await worker.tick() == 2
        assert await worker.tick() == 0  # full until a call ends
        async with db.sessions() as s:
            assert await s.scalar(select(func.count()).select_from(DispatchLease)) == 2
    finally:
        for task in list(worker._calls):
            task.cancel()
        await asyncio.gather(*worker._calls, return_exceptions=True)


async def test_expired_lease_returns_the_lead_as_error_without_charging(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    sd = await seed(
        database_url,
        tmp_path,
        [{"phone": phone(1)}],
        retry={"dispositions": ["no_answer"], "spacing_minutes": [1], "max_attempts": 3},
    )
    await advance(db)
    job = (await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=1)).jobs[0]
    assert await service.reap_expired(db, CFG) == 0  # not expired yet
    assert await service.reap_expired(db, CFG, now=utcnow() + timedelta(seconds=31)) == 1
    # The lost worker comes back and tries to settle: refused, nothing charged twice.
    late = await service.finish(
        db,
        CFG,
        job.call_id,
        job.lead_id,
        job.account_id,
        CallResult(Disposition.COMPLETED, "qualified", CallRecord(call_id="c", duration_s=30.0)),
    )
    assert late is None
    async with db.sessions() as s:
        lead = await s.get(Lead, job.lead_id)
        call = await s.get(Call, job.call_id)
        assert lead is not None and lead.status == "retry" and lead.attempts == 1
        assert call is not None and call.status == "error" and "lease expired" in (call.error or "")
        assert await ledger.balance(s, sd.account_id) == 1_000_000
        assert await s.scalar(select(func.count()).where(CreditEntry.kind == "charge")) == 0


async def test_fraud_guard_pauses_the_campaign_with_a_reason(db: Database, database_url: str, tmp_path: Path) -> None:
    sd = await seed(database_url, tmp_path, [{"phone": phone(i)} for i in range(4)], concurrency=10)
    await advance(db)
    cfg = DispatchConfig(
        worker_id="w", limits=fraud.Limits(max_calls_per_hour=1000, max_spend_per_day=700), hours=ANY_HOUR
    )
    first = await service.claim(db, cfg, sd.campaign_id, sd.account_id, slots=1)
    assert len(first.jobs) == 1  # 300 held: 300 + 300 <= 700
    second = await service.claim(db, cfg, sd.campaign_id, sd.account_id, slots=1)
    assert len(second.jobs) == 1
    third = await service.claim(db, cfg, sd.campaign_id, sd.account_id, slots=1)
    assert third.jobs == [] and third.paused_reason == fraud.SPEND_PER_DAY
    async with db.sessions() as s:
        c = await s.get(Campaign, sd.campaign_id)
        row = await s.get(CampaignDispatch, sd.campaign_id)
        assert c is not None and c.state == "paused"
        assert row is not None and row.paused_reason == "fraud_spend_per_day"
    # Calls per hour.
    async with session_scope(db) as s:
        await s.execute(text("UPDATE campaigns SET state = 'running'"))
    hourly = DispatchConfig(
        worker_id="w", limits=fraud.Limits(max_calls_per_hour=2, max_spend_per_day=10**9), hours=ANY_HOUR
    )
    assert (
        await service.claim(db, hourly, sd.campaign_id, sd.account_id, slots=1)
    ).paused_reason == "fraud_calls_per_hour"


async def test_lead_erased_mid_call_still_releases_the_hold(db: Database, database_url: str, tmp_path: Path) -> None:
    sd = await seed(database_url, tmp_path, [{"phone": phone(1)}])
    await advance(db)
    job = (await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=1)).jobs[0]
    async with session_scope(db) as s:
        await s.execute(text("DELETE FROM calls"))
        await s.execute(text("DELETE FROM leads"))
    closed = await service.finish(
        db,
        CFG,
        job.call_id,
        job.lead_id,
        job.account_id,
        CallResult(Disposition.COMPLETED, "qualified", CallRecord(call_id="c", duration_s=4.5)),
    )
    assert closed is not None and closed.lead_status == "erased" and closed.charged == 5
    async with db.sessions() as s:
        assert await ledger.held(s, sd.account_id) == 0
        assert await ledger.balance(s, sd.account_id) == 1_000_000 - 5
        assert await s.scalar(select(func.count()).select_from(DispatchLease)) == 0


class HangingCarrier(SimulatedCarrier):
    """A carrier whose API stops answering for some leads (metadata ``hang``)."""

    async def originate(self, dial):  # type: ignore[no-untyped-def]
        if dial.metadata.get("hang"):
            await asyncio.Event().wait()
        return await super().originate(dial)


async def test_a_carrier_that_stops_answering_does_not_stall_other_campaigns(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from control_api.dispatch import worker as worker_module

    monkeypatch.setattr(worker_module, "ORIGINATE_TIMEOUT_S", 3.0)
    once = {"max_attempts": 1, "spacing_minutes": []}
    stuck = await seed(
        sqlite_url, tmp_path, [{"phone": phone(i), "metadata": {"hang": True}} for i in range(2)], retry=once
    )
    fine = await seed(
        sqlite_url,
        tmp_path,
        [{"phone": phone(i), "metadata": {"sim": "busy"}} for i in range(10, 16)],
        retry=once,
        api_key=stuck.api_key,
        credits=0,
    )
    db = await open_db(sqlite_url)
    settings = Settings(sim_ring_s=0.01)
    engine = Engine()
    worker = Worker(
        db=db,
        settings=settings,
        carrier=HangingCarrier(settings, engine),
        media_base_url="ws://127.0.0.1:9",
        engine=engine,
    )
    t0 = asyncio.get_running_loop().time()
    states: dict[str, str] = {}
    fine_at: float | None = None
    while asyncio.get_running_loop().time() - t0 < 20:
        await worker.tick()
        await asyncio.sleep(0.05)
        async with db.sessions() as s:
            states = {c.id: c.state for c in (await s.execute(select(Campaign))).scalars()}
        if states[fine.campaign_id] == "completed" and fine_at is None:
            fine_at = asyncio.get_running_loop().time() - t0
        if states[stuck.campaign_id] == "completed":
            break
    await db.dispose()
    assert fine_at is not None and fine_at < 3.0  # done while the other campaign's dials still hung
    assert states == {fine.campaign_id: "completed", stuck.campaign_id: "completed"}
    db = await open_db(sqlite_url)
    async with db.sessions() as s:
        stuck_calls = (await s.execute(select(Call).where(Call.campaign_id == stuck.campaign_id))).scalars().all()
    await db.dispose()
    assert {c.status for c in stuck_calls} == {"failed"}
    assert all("did not answer" in (c.error or "") for c in stuck_calls)


class RingingCarrier(SimulatedCarrier):
    """Answers the originate request, then the media never comes (ringing); records hang-ups."""

    hung_up: list[str]

    async def originate(self, dial):  # type: ignore[no-untyped-def]
        from control_api.origination.base import Origination

        return Origination(carrier_call_id=f"RING-{dial.call_id}")

    async def hangup(self, carrier_call_id: str) -> None:
        self.hung_up.append(carrier_call_id)


async def test_a_worker_that_lost_its_lease_hangs_up(sqlite_url: str, tmp_path: Path) -> None:
    sd = await seed(sqlite_url, tmp_path, [{"phone": phone(1)}])
    db = await open_db(sqlite_url)
    settings = Settings(heartbeat_s=0.1, lease_ttl_s=30, ring_timeout_s=60)
    engine = Engine()
    carrier = RingingCarrier(settings, engine)
    carrier.hung_up = []
    worker = Worker(db=db, settings=settings, carrier=carrier, media_base_url="ws://127.0.0.1:9", engine=engine)
    worker.start()
    try:
        for _ in range(100):
            if worker.active:
                break
            await asyncio.sleep(0.05)
        (call_id,) = list(worker.active)
        # Another worker decides this one is lost (as after a long stall) and reaps the lease.
        other = DispatchConfig(worker_id="other", hours=ANY_HOUR)
        assert await service.reap_expired(db, other, now=utcnow() + timedelta(minutes=5)) == 1
        for _ in range(100):
            if not worker.active:
                break
            await asyncio.sleep(0.05)
        assert worker.active == {}
        assert carrier.hung_up == [f"RING-{call_id}"]
    finally:
        await worker.stop()
    async with db.sessions() as s:
        call = await s.get(Call, call_id)
        assert call is not None and call.status == "error" and "lease expired" in (call.error or "")
        assert await ledger.held(s, sd.account_id) == 0
    await db.dispose()


async def test_opt_out_during_a_call_suppresses_the_number_for_the_account(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    from engine.records import CallRequest
    from engine.records import Lead as EngineLead

    first = await seed(database_url, tmp_path, [{"phone": phone(7)}])
    second = await seed(database_url, tmp_path, [{"phone": phone(7)}], api_key=first.api_key, credits=0)
    await advance(db)
    job = (await service.claim(db, CFG, first.campaign_id, first.account_id, slots=1)).jobs[0]
    settings = Settings()
    worker = simulated_worker(db, settings)
    worker.active[job.call_id] = job
    # What the engine calls (directory.on_opt_out) when the lead opts out, before it closes the call record.
    await worker._on_opt_out(CallRequest(call_id=job.call_id, lead=EngineLead(name="x", phone=job.phone)))
    async with db.sessions() as s:
        verdict = await dnd.check(s, phone(7), 1, account_id=first.account_id)
        entries = (await s.execute(select(AuditEntry).where(AuditEntry.action == "consent.withdraw"))).scalars().all()
    assert not verdict.allowed and verdict.entry is not None and verdict.entry.source == "call_opt_out"
    assert len(entries) == 1 and entries[0].subject_ref == pseudonymize_phone(phone(7))
    closed = await service.finish(
        db,
        CFG,
        job.call_id,
        job.lead_id,
        job.account_id,
        CallResult(Disposition.COMPLETED, "opted_out", CallRecord(call_id="c", duration_s=9.0)),
    )
    assert closed is not None and closed.lead_status == "completed"
    # The same number in the account's other campaign is refused at dial time.
    skipped = await service.claim(db, CFG, second.campaign_id, first.account_id, slots=1)
    assert skipped.jobs == [] and skipped.skipped == {"dnd_blocked": 1}


@pytest.mark.parametrize("digits", ["079839109369", "919876543210", "000000000000"])
async def test_a_key_with_an_all_digit_prefix_still_dispatches(
    db: Database, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, digits: str
) -> None:
    # Keys issued before prefixes began with a letter can be all decimal digits ("key:079839109369" as the actor
    # that started the campaign, which every pre-dial audit entry carries): they must still dispatch.
    from control_api.accounts import keys

    monkeypatch.setattr(keys, "new_prefix", lambda: digits)
    sd = await seed(database_url, tmp_path, [{"phone": phone(1)}])
    assert sd.api_key.startswith(f"clr_{digits}_")
    await advance(db)
    result = await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=5)
    assert len(result.jobs) == 1
    async with db.sessions() as s:
        entry = (await s.execute(select(AuditEntry).where(AuditEntry.action == "call.dispatch"))).scalars().one()
    assert json.loads(entry.details)["started_by"] == f"key:{digits}"
