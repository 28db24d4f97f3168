"""Campaign webhooks: a POST signed with the account's secret per call end and one on completion, retried with
backoff after a failure, delivered by a worker to a real local HTTP receiver."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from sqlalchemy import select

from config.settings import Settings
from control_api.accounts.tables import Account
from control_api.campaigns.tables import Campaign
from control_api.webhooks.destination import parse_networks
from control_api.webhooks.outbox import Deliverer, backoff
from control_api.webhooks.signing import HEADER, sign, verify
from control_api.webhooks.tables import WebhookDelivery
from tests.dispatch.conftest import open_db
from tests.dispatch.fake_carrier import FakeCarrier
from tests.dispatch.seed import LOOPBACK, phone, seed, simulated_worker

SECRET = "whsec-test"


def test_signature_round_trip_and_tamper_and_replay() -> None:
    body = b'{"event":"call.ended"}'
    header = sign(SECRET, body, timestamp=1_800_000_000)
    assert verify(SECRET, body, header, now=1_800_000_010)
    assert not verify(SECRET, body + b" ", header, now=1_800_000_010)
    assert not verify("other", body, header, now=1_800_000_010)
    assert not verify(SECRET, body, header, now=1_800_000_000 + 3600)  # too old: a replay


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(2, n).total_seconds() for n in (1, 2, 3)] == [2, 4, 8]
    assert backoff(2, 30).total_seconds() == 3600


async def test_call_and_completion_webhooks_signed_and_retried(sqlite_url: str, tmp_path: Path) -> None:
    receiver = FakeCarrier().start()
    try:
        leads = [{"phone": phone(i), "metadata": {"sim": "busy"}} for i in range(2)]
        sd = await seed(
            sqlite_url,
            tmp_path,
            leads,
            webhook_url=f"{receiver.url}/hooks/closerr",
            retry={"max_attempts": 1, "spacing_minutes": []},
        )
        db = await open_db(sqlite_url)
        settings = Settings(sim_ring_s=0.01)
        worker = simulated_worker(db, settings)
        for _ in range(50):
            await worker.tick()
            await asyncio.sleep(0.05)
            async with db.sessions() as s:
                if (await s.get(Campaign, sd.campaign_id, populate_existing=True)).state == "completed":  # type: ignore[union-attr]
                    break
        receiver.responses = [(500, {"error": "down"})]  # the first delivery fails
        async with db.sessions() as s:
            account_secret = (await s.get(Account, sd.account_id)).webhook_secret  # type: ignore[union-attr]
        assert account_secret
        deliverer = Deliverer(db, max_attempts=3, backoff_s=0.05, allowed_networks=parse_networks(LOOPBACK))
        async with httpx.AsyncClient() as http:
            for _ in range(40):
                await deliverer.run_once(http)
                async with db.sessions() as s:
                    pending = (
                        (await s.execute(select(WebhookDelivery).where(WebhookDelivery.delivered_at.is_(None))))
                        .scalars()
                        .all()
                    )
                if not pending:
                    break
                await asyncio.sleep(0.05)
        async with db.sessions() as s:
            rows = (await s.execute(select(WebhookDelivery).order_by(WebhookDelivery.id))).scalars().all()
        await db.dispose()
    finally:
        receiver.stop()
    assert [r.event for r in rows] == ["call.ended", "call.ended", "campaign.completed"]
    assert all(r.delivered_at is not None for r in rows)
    assert rows[0].attempts == 2 and rows[1].attempts == 1  # retried once after the 500
    posts = receiver.requests
    assert len(posts) == 4 and all(p.path == "/hooks/closerr" and p.method == "POST" for p in posts)
    for post in posts:
        assert verify(account_secret, post.body, post.headers[HEADER])
        assert phone(0)[3:] not in post.body.decode() and phone(1)[3:] not in post.body.decode()
    bodies = [json.loads(p.body) for p in posts[1:]]
    assert {b["event"] for b in bodies} == {"call.ended", "campaign.completed"}
    ended = next(b for b in bodies if b["event"] == "call.ended")
    assert ended["disposition"] == "busy" and ended["campaign_id"] == sd.campaign_id and ended["credits_charged"] == 0
    completed = next(b for b in bodies if b["event"] == "campaign.completed")
    assert completed["leads"] == {"busy": 2}
