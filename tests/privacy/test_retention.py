"""The two retention clocks: pure rules, the purge job on both backends, its schedule across restarts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import soundfile as sf
from sqlalchemy import func, select, update

from config.settings import Settings
from control_api.audit import verify
from control_api.audit.tables import AuditEntry
from control_api.calls.tables import Call
from control_api.leads.tables import Lead
from control_api.privacy.purge import run_retention
from control_api.privacy.retention_policy import cutoffs, effective_content_days, next_run
from control_api.privacy.scheduler import RetentionScheduler
from control_api.privacy.tables import AccountPrivacy, PrivacyJob
from control_api.storage.db import Database
from tests.privacy.seed import add_account, add_call, add_campaign, add_lead


def test_campaign_setting_wins_then_account_then_default() -> None:
    kw = {"default_days": 90, "metadata_days": 365}
    assert effective_content_days(campaign_days=30, account_days=60, **kw) == 30
    assert effective_content_days(campaign_days=90, account_days=60, **kw) == 60
    assert effective_content_days(campaign_days=90, account_days=None, **kw) == 90
    assert effective_content_days(campaign_days=None, account_days=None, **kw) == 90
    # Content never outlives the call row that holds it.
    assert effective_content_days(campaign_days=400, account_days=None, **kw) == 365
    with pytest.raises(ValueError):
        effective_content_days(campaign_days=0, account_days=None, **kw)


def test_cutoffs_need_aware_time_and_metadata_clock_is_a_year() -> None:
    now = datetime(2027, 6, 1, tzinfo=UTC)
    assert cutoffs(now, metadata_days=365).metadata_before == datetime(2026, 6, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        cutoffs(now.replace(tzinfo=None), metadata_days=365)


def test_next_run_skips_missed_slots_but_keeps_the_grid() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert next_run(t0, 3600, t0 + timedelta(minutes=5)) == t0 + timedelta(hours=1)
    assert next_run(t0, 3600, t0 + timedelta(hours=5, minutes=1)) == t0 + timedelta(hours=6)


def test_metadata_retention_cannot_be_set_below_a_year(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOSERR_METADATA_RETENTION_DAYS", "30")
    with pytest.raises(ValueError, match="metadata_retention_days"):
        Settings()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", retention_interval_s=3600)


async def _seed_ages(db: Database, data_dir: Path) -> dict[str, str]:
    """Calls of several ages in a default campaign, a 30-day campaign and an account with a 10-day override."""
    async with db.sessions() as s:
        acc = await add_account(s)
        default_c = await add_campaign(s, acc)
        short_c = await add_campaign(s, acc, retention_days=30)
        acc2 = await add_account(s, email="b@client.example")
        acc2_c = await add_campaign(s, acc2)
        s.add(AccountPrivacy(account_id=acc2, region="in", content_retention_days=10))
        ids = {}
        for label, campaign, account, age in [
            ("fresh", default_c, acc, 1),
            ("89d", default_c, acc, 89),
            ("91d", default_c, acc, 91),
            ("short_29d", short_c, acc, 29),
            ("short_31d", short_c, acc, 31),
            ("acc2_11d", acc2_c, acc2, 11),
            ("400d", default_c, acc, 400),
        ]:
            lead = await add_lead(s, account, campaign, 919800000000 + age, "Lead Person")
            # The 30-day campaign's calls were recorded by the engine; the others have some other audio file.
            recorded = campaign == short_c
            ids[label] = await add_call(
                s, account, campaign, lead, "Lead Person", age_days=age, data_dir=data_dir, recorded=recorded
            )
        # A lead older than a year whose only call is gone too.
        await s.execute(
            update(Lead).where(Lead.phone == 919800000400).values(created_at=datetime.now(UTC) - timedelta(days=400))
        )
        await s.commit()
    return ids


async def test_retention_purges_content_per_clock_idempotently(db: Database, settings: Settings) -> None:
    ids = await _seed_ages(db, settings.data_dir)
    dry = await run_retention(db, settings, dry_run=True)
    assert (dry.content_calls, dry.metadata_calls, dry.leads) == (4, 1, 1)
    async with db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Call).where(Call.transcript.is_not(None))) == 7

    report = await run_retention(db, settings)
    assert (report.content_calls, report.metadata_calls, report.leads) == (4, 1, 1)
    assert report.audio_files == 4
    async with db.sessions() as s:
        rows = {c.id: c for c in (await s.execute(select(Call))).scalars()}
    kept_content = {label for label, cid in ids.items() if cid in rows and rows[cid].transcript is not None}
    assert kept_content == {"fresh", "89d", "short_29d"}
    stripped = rows[ids["91d"]]
    # Metadata without content stays for the year.
    assert stripped.slots is None and stripped.record is None and stripped.duration_s == 42.0
    assert stripped.outcome == "qualified" and stripped.lead_id is not None
    assert ids["400d"] not in rows
    audio = {p.stem for p in (settings.data_dir / "audio").iterdir()}
    assert audio == {ids["fresh"], ids["89d"], ids["short_29d"]}
    # The recording past its campaign's 30 days went with its transcript; the younger one is whole.
    assert not (settings.data_dir / "audio" / f"{ids['short_31d']}.ogg").exists()
    assert sf.info(settings.data_dir / "audio" / f"{ids['short_29d']}.ogg").channels == 2

    again = await run_retention(db, settings)
    assert again.counts() | {"dry_run": False} == {k: 0 for k in again.counts()} | {"dry_run": False}
    async with db.sessions() as s:
        runs = (await s.execute(select(AuditEntry).where(AuditEntry.action == "retention.purge"))).scalars().all()
        assert (await verify(s)).ok
    assert len(runs) == 2 and runs[0].actor == "system:retention"
    assert json.loads(runs[0].details)["content_calls"] == 4
    assert "Lead Person" not in runs[0].details


async def test_orphan_audio_is_swept(db: Database, settings: Settings) -> None:
    audio = settings.data_dir / "audio"
    audio.mkdir(parents=True)
    orphan = audio / "no-such-call.wav"
    orphan.write_bytes(b"RIFF")
    young = audio / "being-recorded.wav"
    young.write_bytes(b"RIFF")
    import os

    old = datetime.now(UTC).timestamp() - 7200
    os.utime(orphan, (old, old))
    report = await run_retention(db, settings)
    assert report.audio_files == 1
    assert not orphan.exists() and young.exists()


async def test_scheduler_state_survives_restart(db: Database, settings: Settings) -> None:
    t0 = datetime.now(UTC)
    first = RetentionScheduler(db, settings)
    assert await first.tick(t0) is None  # a fresh schedule starts shortly after startup
    ran = await first.tick(t0 + timedelta(seconds=61))
    assert ran is not None
    async with db.sessions() as s:
        job = await s.get(PrivacyJob, "retention")
        assert job is not None and job.runs == 1 and job.lease_owner is None
        next_at = job.next_run_at
    assert next_at > t0 + timedelta(seconds=3600)

    restarted = RetentionScheduler(db, settings)  # a new process: nothing in memory
    assert await restarted.tick(t0 + timedelta(seconds=120)) is None
    assert await restarted.tick(next_at + timedelta(seconds=1)) is not None
    async with db.sessions() as s:
        job = await s.get(PrivacyJob, "retention")
        assert job is not None and job.runs == 2 and json.loads(job.last_result or "{}")["dry_run"] is False


async def test_scheduler_respects_another_workers_lease(db: Database, settings: Settings) -> None:
    t0 = datetime.now(UTC)
    a, b = RetentionScheduler(db, settings), RetentionScheduler(db, settings)
    await a.tick(t0)
    async with db.sessions() as s:
        await s.execute(update(PrivacyJob).values(lease_owner=a.owner, lease_until=t0 + timedelta(hours=1)))
        await s.commit()
    assert await b.tick(t0 + timedelta(seconds=120)) is None


async def test_scheduler_loop_runs_in_background(db: Database, tmp_path: Path) -> None:
    fast = Settings(data_dir=tmp_path / "d2", retention_interval_s=0.2)
    sched = RetentionScheduler(db, fast, poll_s=0.05)
    sched.start()
    import asyncio

    for _ in range(100):
        await asyncio.sleep(0.05)
        async with db.sessions() as s:
            job = await s.get(PrivacyJob, "retention")
            if job is not None and job.runs >= 2:
                break
    await sched.stop()
    assert job is not None and job.runs >= 2
