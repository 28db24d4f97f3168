"""Promises the agent makes are kept: a requested callback becomes an attempt at the time asked (inside the window
and the legal hours, within the client's limit), visible in the leads API, and the campaign is not complete while
it is pending; a voicemail message promises another call only on dials after which voicemail is retried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from config.settings import Settings
from control_api.app import create_app
from control_api.campaigns.calling_hours import CallingHours
from control_api.campaigns.schemas import RetryPolicy
from control_api.campaigns.tables import Campaign
from control_api.dispatch import service
from control_api.dispatch.dispositions import Disposition
from control_api.dispatch.service import DispatchConfig, call_script
from control_api.dispatch.settlement import CallResult
from control_api.leads.tables import Lead
from control_api.storage.db import Database
from control_api.storage.types import utcnow
from engine.records import CallRecord
from tests.dispatch.seed import demo_script, phone, seed
from tests.dispatch.test_dispatcher import advance

IST = timedelta(hours=5, minutes=30)
CFG = DispatchConfig(worker_id="callbacks", hours=CallingHours("09:00", "21:00"))


def ist(hour: int, days: int) -> datetime:
    day = (utcnow() + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC) - IST


async def test_a_requested_callback_is_dialed_at_the_time_asked(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    # No retries at all in the policy: the callback is still kept.
    once = {"max_attempts": 1, "spacing_minutes": [], "dispositions": []}
    sd = await seed(
        database_url, tmp_path, [{"phone": phone(1)}], retry=once, calling_window={"start": "10:00", "end": "18:00"}
    )
    await advance(db)
    dial_at = ist(11, days=1)
    job = (await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=1, now=dial_at)).jobs[0]
    # "Call me tomorrow at 8 pm": after the campaign's window (10:00-18:00), so it is placed at its next opening.
    asked = ist(20, days=2)
    record = CallRecord(call_id=job.call_id, duration_s=20.0, callback_at=asked.isoformat())
    closed = await service.finish(
        db,
        CFG,
        job.call_id,
        job.lead_id,
        job.account_id,
        CallResult(Disposition.COMPLETED, "callback_requested", record),
        now=dial_at + timedelta(minutes=1),
    )
    assert closed is not None and closed.lead_status == "retry"
    async with db.sessions() as s:
        lead = await s.get(Lead, job.lead_id)
        assert lead is not None
        assert lead.next_attempt_at == ist(10, days=3) and lead.next_attempt_reason == "callback"
    # Not complete while the callback is pending.
    await service.advance_campaigns(db, now=dial_at + timedelta(minutes=2))
    async with db.sessions() as s:
        c = await s.get(Campaign, sd.campaign_id)
        assert c is not None and c.state == "running"
    settings = Settings(data_dir=tmp_path, database_url=database_url, retention_scheduler=False)
    async with AsyncTestClient(app=create_app(settings), timeout=60) as client:
        leads = (await client.get(f"/v1/campaigns/{sd.campaign_id}/leads", headers=sd.headers)).json()["items"]
        assert leads[0]["status"] == "retry" and leads[0]["next_attempt_reason"] == "callback"
        assert datetime.fromisoformat(leads[0]["next_attempt_at"]) == ist(10, days=3)
    # Due at that moment, it is dialed again, though the policy allows one attempt.
    assert (await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=1, now=ist(9, days=3))).jobs == []
    again = await service.claim(
        db, CFG, sd.campaign_id, sd.account_id, slots=1, now=ist(10, days=3) + timedelta(seconds=1)
    )
    assert len(again.jobs) == 1 and again.jobs[0].attempt == 2


def _policy(**fields: Any) -> dict[str, Any]:
    import msgspec

    return msgspec.to_builtins(msgspec.convert(fields, RetryPolicy))


def test_every_closing_line_is_rendered_against_the_campaign_settings() -> None:
    """What each dial's script may promise, for the demo script under several retry settings."""
    script = demo_script()
    assert "call you again" in script["voicemail_message"]
    assert "call you back" in script["closing"]["callback_requested"]
    for policy in (_policy(), _policy(max_attempts=1), _policy(dispositions=["no_answer"]), _policy(max_attempts=5)):
        for attempt in range(1, policy["max_attempts"] + 1):
            spoken = call_script(script, policy, attempt)
            voicemail_retried = "voicemail" in policy["dispositions"] and attempt < policy["max_attempts"]
            # The voicemail message promises another call: only where one follows.
            assert (spoken["voicemail_message"] is not None) == voicemail_retried, (policy, attempt)
            # A callback is always scheduled (retry.decide keeps it whatever the policy), so its line stays.
            assert spoken["closing"] == script["closing"]
    assert script["voicemail_message"] is not None  # the campaign's own copy is untouched
