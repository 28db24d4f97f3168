"""Call records written by the dispatcher (``CallRecord.to_dict()``) read back through the API."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from config.settings import Settings
from control_api.audit.tables import AuditEntry
from control_api.calls.tables import Call
from control_api.privacy.audio_files import audio_dir
from control_api.storage.db import Database
from control_api.storage.types import utcnow
from engine.audio.recorder import CallRecorder
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


def _record_audio(data_dir: Path, call_id: str, seconds: float = 1.0) -> Path:
    """A real recording, as the engine writes one: the lead for ``seconds``, the agent answering halfway."""
    rate = 8000
    recorder = CallRecorder(audio_dir(data_dir) / f"{call_id}.ogg", rate, origin=0.0)
    recorder.start()
    frame = (4000 * np.sin(np.arange(rate // 50) / rate * 2 * np.pi * 440)).astype("<i2").tobytes()
    for i in range(int(seconds * 50)):
        recorder.lead(frame, at=0.02 * (i + 1))
        if i >= 25:
            recorder.agent(frame, at=0.02 * i)
    assert recorder.close().complete
    return recorder.path


async def test_a_recording_is_served_to_its_owner_and_the_operator_only_with_byte_ranges(
    client: AsyncTestClient[Litestar],
    tenant: Tenant,
    other_tenant: Tenant,
    operator: Tenant,
    db: Database,
    settings: Settings,
) -> None:
    c = await create_campaign(client, tenant)
    call_id = await _write_call(db, tenant, c["id"])
    url = f"/v1/calls/{call_id}/recording"
    r = await client.get(url, headers=tenant.headers)
    assert r.status_code == 404 and r.json()["detail"] == "recording not found"  # not recorded (yet)
    path = _record_audio(settings.data_dir, call_id)
    whole = path.read_bytes()
    size = len(whole)

    r = await client.get(url, headers=tenant.headers)
    assert r.status_code == 200 and r.content == whole
    assert r.headers["content-type"] == "audio/ogg" and r.headers["accept-ranges"] == "bytes"
    audio, rate = sf.read(io.BytesIO(r.content))
    assert rate == 8000 and audio.shape[1] == 2 and len(audio) / rate == pytest.approx(1.0, abs=0.03)

    for header, start, end in [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, size - 1),
        ("bytes=-50", size - 50, size - 1),
        (f"bytes=10-{size + 1000}", 10, size - 1),  # an end past the file is the file's end
    ]:
        r = await client.get(url, headers={**tenant.headers, "Range": header})
        assert r.status_code == 206, (header, r.text)
        assert r.headers["content-range"] == f"bytes {start}-{end}/{size}"
        assert r.content == whole[start : end + 1] and r.headers["content-type"] == "audio/ogg"
    for header in (f"bytes={size}-", f"bytes={size + 5}-{size + 9}", "bytes=-0"):
        r = await client.get(url, headers={**tenant.headers, "Range": header})
        assert r.status_code == 416, header
        assert r.headers["content-range"] == f"bytes */{size}" and r.json()["field"] == "Range"
    # A header the server cannot use (several ranges, another unit) gets the whole file.
    for header in ("bytes=0-1,5-9", "items=0-1", "bytes=9-1"):
        r = await client.get(url, headers={**tenant.headers, "Range": header})
        assert r.status_code == 200 and r.content == whole, header

    # Another tenant cannot tell the call exists; the platform operator can hear it, and that is audited.
    assert (await client.get(url, headers=other_tenant.headers)).status_code == 404
    r = await client.get(url, headers={**operator.headers, "Range": "bytes=0-9"})
    assert r.status_code == 206 and r.content == whole[:10]
    async with db.sessions() as s:
        actions = (await s.scalars(select(AuditEntry.action).where(AuditEntry.tenant_id == tenant.account_id))).all()
    assert actions.count("call.recording.read") == 1
    assert (await client.get(f"/v1/calls/{uuid.uuid4()}/recording", headers=operator.headers)).status_code == 404
