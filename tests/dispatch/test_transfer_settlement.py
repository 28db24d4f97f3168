"""A transferred call settles like any answered call: billed for the agent's part, its hand-off (number masked) in
the call row and the ``call.ended`` webhook; a transfer that failed is a callback the dispatcher schedules."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from control_api.calls.tables import Call
from control_api.dispatch import service
from control_api.dispatch.dispositions import Disposition, from_record
from control_api.dispatch.service import DispatchConfig
from control_api.dispatch.settlement import CallResult
from control_api.leads.tables import Lead
from control_api.storage.db import Database
from control_api.webhooks.tables import WebhookDelivery
from engine.records import CallRecord, Outcome, mask_number
from tests.dispatch.seed import ANY_HOUR, phone, seed
from tests.dispatch.test_dispatcher import advance

CFG = DispatchConfig(worker_id="transfers", hours=ANY_HOUR)
ONCE = {"max_attempts": 1, "spacing_minutes": [], "dispositions": []}


def _record(call_id: str, outcome: Outcome, connected: bool) -> CallRecord:
    record = CallRecord(call_id=call_id, outcome=outcome, ended_by="bot", duration_s=42.0)
    record.transfer = {"to": mask_number("+919812345678"), "mode": "warm", "reason": "qualified",
                       "connected": connected, "detail": "salesperson answered after the whisper" if connected
                       else "salesperson did not answer (no-answer)"}  # fmt: skip
    return record


async def test_a_transferred_call_is_billed_and_reported_with_its_masked_hand_off(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    sd = await seed(database_url, tmp_path, [{"phone": phone(1)}], retry=ONCE, webhook_url="https://hooks.example.in/x")
    await advance(db)
    job = (await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=1)).jobs[0]
    record = _record(job.call_id, Outcome.TRANSFERRED, connected=True)
    disposition, outcome = from_record(record)
    assert (disposition, outcome) == (Disposition.COMPLETED, "transferred")
    closed = await service.finish(
        db, CFG, job.call_id, job.lead_id, job.account_id, CallResult(disposition, outcome, record)
    )
    assert closed is not None and closed.charged > 0 and closed.lead_status == "completed"
    async with db.sessions() as s:
        call = await s.get(Call, job.call_id)
        assert call is not None and call.outcome == "transferred" and call.duration_s == 42.0
        assert call.record is not None and call.record["transfer"]["to"] == "+91********78"
        [delivery] = (await s.execute(select(WebhookDelivery))).scalars().all()
    assert delivery.payload["outcome"] == "transferred"
    assert delivery.payload["transfer"]["connected"] is True
    assert "9812345678" not in str(delivery.payload)


async def test_a_failed_warm_transfer_is_a_callback(db: Database, database_url: str, tmp_path: Path) -> None:
    sd = await seed(database_url, tmp_path, [{"phone": phone(2)}], retry=ONCE)
    await advance(db)
    job = (await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=1)).jobs[0]
    # what the engine leaves when nobody answered the salesperson's phone (engine.call._hand_over)
    record = _record(job.call_id, Outcome.CALLBACK_REQUESTED, connected=False)
    disposition, outcome = from_record(record)
    closed = await service.finish(
        db, CFG, job.call_id, job.lead_id, job.account_id, CallResult(disposition, outcome, record)
    )
    assert closed is not None and closed.lead_status == "retry"
    async with db.sessions() as s:
        lead = await s.get(Lead, job.lead_id)
        assert lead is not None and lead.next_attempt_reason == "callback" and lead.next_attempt_at is not None
