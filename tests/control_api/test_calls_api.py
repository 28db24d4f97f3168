"""Call records written by the dispatcher (``CallRecord.to_dict()``) read back through the API."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient

from control_api.calls.tables import Call
from control_api.storage.db import Database
from control_api.storage.types import utcnow
from engine.records import CallRecord, Outcome, TranscriptTurn, TurnLatency, mask_number
from tests.control_api.helpers import Tenant, create_campaign


async def _write_call(db: Database, tenant: Tenant, campaign_id: str) -> str:
    record = CallRecord(
        call_id=str(uuid.uuid4()),
        outcome=Outcome.QUALIFIED,
        slots={"monthly_bill": 3500, "owns_home": True},
        transcript=[
            TranscriptTurn("bot", "Hello, this is Priya, an AI assistant.", 0.0, 2.1),
            TranscriptTurn("lead", "Yes, go ahead.", 2.6, 3.4),
        ],
        turns=[TurnLatency(endpoint_s=0.2, stt_s=0.35, policy_s=0.01, tts_s=0.15, v2v_s=0.74)],
        started_at="2026-06-01T06:30:00Z",
        duration_s=42.0,
    )
    data = record.to_dict()
    async with db.sessions() as s:
        s.add(
            Call(
                id=record.call_id,
                account_id=tenant.account_id,
                campaign_id=campaign_id,
                status="completed",
                outcome=data["outcome"],
                started_at=utcnow(),
                duration_s=record.duration_s,
                transcript=data["transcript"],
                turns=data["turns"],
                slots=data["slots"],
                record=data,
            )
        )
        await s.commit()
    return record.call_id


async def test_calls_list_and_detail(
    client: AsyncTestClient[Litestar], tenant: Tenant, other_tenant: Tenant, db: Database
) -> None:
    c = await create_campaign(client, tenant)
    call_id = await _write_call(db, tenant, c["id"])
    page = (await client.get(f"/v1/campaigns/{c['id']}/calls", headers=tenant.headers)).json()
    assert [x["id"] for x in page["items"]] == [call_id] and page["next_cursor"] is None
    detail = (await client.get(f"/v1/calls/{call_id}", headers=tenant.headers)).json()
    assert detail["outcome"] == "qualified"
    assert detail["slots"] == {"monthly_bill": 3500, "owns_home": True}
    assert [t["role"] for t in detail["transcript"]] == ["bot", "lead"]
    assert detail["turns"][0]["v2v_s"] == 0.74
    assert detail["latency"]["v2v_p50_s"] == 0.74
    assert (await client.get(f"/v1/calls/{call_id}", headers=other_tenant.headers)).status_code == 404
    assert (await client.get("/v1/calls/nope", headers=tenant.headers)).status_code == 404


async def test_a_transferred_call_shows_its_masked_transfer(
    client: AsyncTestClient[Litestar], tenant: Tenant, db: Database
) -> None:
    c = await create_campaign(client, tenant)
    record = CallRecord(call_id=str(uuid.uuid4()), outcome=Outcome.TRANSFERRED, duration_s=30.0)
    record.transfer = {"to": mask_number("+919812345678"), "mode": "cold", "reason": "lead_request",
                       "connected": True, "detail": "REFER accepted, NOTIFY sipfrag 200"}  # fmt: skip
    data = record.to_dict()
    async with db.sessions() as s:
        s.add(Call(id=record.call_id, account_id=tenant.account_id, campaign_id=c["id"], status="completed",
                   outcome=data["outcome"], started_at=utcnow(), duration_s=30.0, record=data))  # fmt: skip
        await s.commit()
    detail = (await client.get(f"/v1/calls/{record.call_id}", headers=tenant.headers)).json()
    assert detail["outcome"] == "transferred"
    assert detail["transfer"] == {"to": "+91********78", "mode": "cold", "reason": "lead_request", "connected": True,
                                  "detail": "REFER accepted, NOTIFY sipfrag 200"}  # fmt: skip
