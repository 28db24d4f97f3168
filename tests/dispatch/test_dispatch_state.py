"""Why a campaign is not dialing, as GET /v1/campaigns/{id} answers it: the window (clamped to the legal hours),
a pause and its reason, the leads' next attempts; and the campaign.paused webhook that carries the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from config.settings import Settings
from control_api.app import create_app
from control_api.campaigns.calling_hours import CallingHours
from control_api.campaigns.tables import Campaign
from control_api.dispatch import service
from control_api.dispatch.service import DispatchConfig
from control_api.dispatch.state import dispatch_state
from control_api.leads.tables import Lead
from control_api.storage.db import Database, session_scope
from control_api.storage.types import utcnow
from control_api.webhooks.tables import WebhookDelivery
from tests.dispatch.seed import ANY_HOUR, phone, seed
from tests.dispatch.test_dispatcher import advance

TRAI = CallingHours("09:00", "21:00")
IST = timedelta(hours=5, minutes=30)


def ist(hour: int, minute: int = 0, days: int = 2) -> datetime:
    day = (utcnow() + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - IST


State = tuple[str, str | None, datetime | None, int]


async def _state(db: Database, campaign_id: str, hours: CallingHours, now: datetime) -> State:
    async with db.sessions() as s:
        c = await s.get(Campaign, campaign_id)
        assert c is not None
        d = await dispatch_state(s, c, hours, now)
        return d.status, d.reason, d.next_opening_at, d.balance


async def test_the_window_the_retries_and_dialing(db: Database, database_url: str, tmp_path: Path) -> None:
    sd = await seed(database_url, tmp_path, [{"phone": phone(1)}], credits=5000)
    assert await _state(db, sd.campaign_id, TRAI, ist(12)) == ("scheduled", None, None, 5000)
    await advance(db)
    assert await _state(db, sd.campaign_id, TRAI, ist(12)) == ("dialing", None, None, 5000)
    # 22:00 in Pune: the stored window says "any hour", the legal hours say wait for 09:00 tomorrow.
    assert await _state(db, sd.campaign_id, TRAI, ist(22)) == ("waiting_for_window", None, ist(9, days=3), 5000)
    async with session_scope(db) as s:
        await s.execute(update(Lead).values(status="retry", next_attempt_at=ist(15)))
    assert await _state(db, sd.campaign_id, TRAI, ist(12)) == ("waiting_for_retry", None, ist(15), 5000)
    async with session_scope(db) as s:
        await s.execute(update(Campaign).values(window_start="03:00", window_end="04:00"))
    status, reason, _, _ = await _state(db, sd.campaign_id, TRAI, ist(12))
    assert (status, reason) == ("waiting_for_window", "window_outside_legal_hours")


async def test_a_pause_says_who_paused_and_why(db: Database, database_url: str, tmp_path: Path) -> None:
    sd = await seed(
        database_url,
        tmp_path,
        [{"phone": phone(i)} for i in range(3)],
        credits=300,
        webhook_url="https://hooks.example.in/closerr",
    )
    await advance(db)
    cfg = DispatchConfig(worker_id="w", hours=ANY_HOUR)
    result = await service.claim(db, cfg, sd.campaign_id, sd.account_id, slots=3)
    assert len(result.jobs) == 1 and result.paused_reason == "balance_low"
    settings = Settings(data_dir=tmp_path, database_url=database_url, retention_scheduler=False)
    async with AsyncTestClient(app=create_app(settings), timeout=60) as client:
        got = (await client.get(f"/v1/campaigns/{sd.campaign_id}", headers=sd.headers)).json()
        assert got["state"] == "paused"
        assert got["dispatch"] == {"status": "paused", "reason": "balance_low", "next_opening_at": None, "balance": 0}
        refused = await client.post(f"/v1/campaigns/{sd.campaign_id}/resume", headers=sd.headers)
        assert refused.status_code == 409 and refused.json()["field"] == "balance"
        listed = (await client.get("/v1/campaigns", headers=sd.headers)).json()["items"]
        assert listed[0]["id"] == sd.campaign_id
    async with db.sessions() as s:
        hooks = (await s.execute(select(WebhookDelivery).where(WebhookDelivery.event == "campaign.paused"))).scalars()
        payloads = [h.payload for h in hooks]
    assert len(payloads) == 1 and payloads[0]["reason"] == "balance_low"
    assert payloads[0]["campaign_id"] == sd.campaign_id

    other = await seed(database_url, tmp_path, [{"phone": phone(9)}], email="b@example.in", credits=1000)
    async with AsyncTestClient(app=create_app(settings), timeout=60) as client:
        paused = await client.post(f"/v1/campaigns/{other.campaign_id}/pause", headers=other.headers)
        assert paused.status_code == 409  # scheduled, not yet running
        await advance(db)
        paused = await client.post(f"/v1/campaigns/{other.campaign_id}/pause", headers=other.headers)
        assert paused.status_code == 200, paused.text
        assert paused.json()["dispatch"]["status"] == "paused" and paused.json()["dispatch"]["reason"] == "by_client"
