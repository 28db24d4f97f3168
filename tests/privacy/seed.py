"""Test data written straight through the ORM (the privacy area must work on whatever the other areas store)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import soundfile as sf
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts.tables import Account
from control_api.calls.tables import Call
from control_api.campaigns.tables import Campaign
from control_api.dnd.tables import DndEntry
from control_api.leads.tables import Lead, LeadUpload
from control_api.privacy.audio_files import audio_dir
from engine.audio.recorder import CallRecorder, open_sink

SUBJECT_PHONE = 919876543210
SUBJECT_NAME = "Asha Raghunathan"
OTHER_PHONE = 918765432109
OTHER_NAME = "Vikram Balasubramanian"


@dataclass
class Seeded:
    account_id: str
    campaign_ids: list[str]
    subject_lead_ids: list[int] = field(default_factory=list)
    subject_call_ids: list[str] = field(default_factory=list)
    other_lead_ids: list[int] = field(default_factory=list)
    other_call_ids: list[str] = field(default_factory=list)


async def add_account(session: AsyncSession, email: str = "ops@client.example") -> str:
    account_id = str(uuid.uuid4())
    session.add(Account(id=account_id, name="Client Pvt Ltd", email=email, billing={}))
    await session.flush()
    return account_id


async def add_campaign(session: AsyncSession, account_id: str, *, retention_days: int = 90) -> str:
    campaign_id = str(uuid.uuid4())
    session.add(
        Campaign(
            id=campaign_id,
            account_id=account_id,
            name="Home loans",
            state="running",
            script={},
            category=1,
            days=["mon"],
            retry={},
            retention_days=retention_days,
        )
    )
    session.add(
        LeadUpload(
            id=f"up-{campaign_id}"[:36],
            account_id=account_id,
            campaign_id=campaign_id,
            content_type="text/csv",
            no_minors_attested=True,
            attested_by="clr_test",
        )
    )
    await session.flush()
    return campaign_id


async def add_lead(session: AsyncSession, account_id: str, campaign_id: str, phone: int, name: str) -> int:
    lead = Lead(
        account_id=account_id,
        campaign_id=campaign_id,
        upload_id=f"up-{campaign_id}"[:36],
        line=1,
        phone=phone,
        name=name,
        extra={"city": "Pune", "note": f"prefers evenings, ask for {name}"},
        consent_source="web form",
        consent_at=datetime(2026, 6, 1, tzinfo=UTC),
        consent_purpose="home loan callback",
        consent_attested_by="clr_test",
    )
    session.add(lead)
    await session.flush()
    return lead.id


async def add_call(
    session: AsyncSession,
    account_id: str,
    campaign_id: str,
    lead_id: int,
    name: str,
    *,
    age_days: float = 0.0,
    data_dir: Path | None = None,
    recorded: bool = False,
) -> str:
    call_id = str(uuid.uuid4())
    created = datetime.now(UTC) - timedelta(days=age_days)
    session.add(
        Call(
            id=call_id,
            account_id=account_id,
            campaign_id=campaign_id,
            lead_id=lead_id,
            status="completed",
            outcome="qualified",
            started_at=created,
            ended_at=created + timedelta(seconds=42),
            duration_s=42.0,
            transcript=[{"role": "lead", "text": f"Yes this is {name}, call me back on this number"}],
            slots={"name": name, "budget": "5 lakh"},
            record={"lead_name": name},
            created_at=created,
        )
    )
    await session.flush()
    if data_dir is not None and recorded:
        write_recording(audio_dir(data_dir) / f"{call_id}.ogg", f"{name} +{lead_id}")
    elif data_dir is not None:
        audio = data_dir / "audio"
        audio.mkdir(parents=True, exist_ok=True)
        # A fake recording that carries the identifiers, so a grep proves the file is gone.
        (audio / f"{call_id}.wav").write_bytes(b"RIFF" + f"{name} +{lead_id}".encode() + b"\0" * 64)
    return call_id


def write_recording(path: Path, tag: str) -> None:
    """A recording as the engine's recorder writes it (half a second of both sides), its Ogg comment carrying
    ``tag`` so that a grep of the audio directory proves the file's bytes are gone."""

    def tagged(p: Path, rate: int) -> sf.SoundFile:
        sink = open_sink(p, rate)
        sink.comment = tag
        return sink

    recorder = CallRecorder(path, 8000, origin=0.0, open_sink=tagged)
    recorder.start()
    for i in range(25):
        recorder.lead(b"\x10\x00" * 160, at=0.02 * (i + 1))
        recorder.agent(b"\x00\x10" * 160, at=0.02 * i)
    assert recorder.close().complete


async def seed_subject(session: AsyncSession, data_dir: Path) -> Seeded:
    account_id = await add_account(session)
    campaigns = [await add_campaign(session, account_id), await add_campaign(session, account_id)]
    seeded = Seeded(account_id=account_id, campaign_ids=campaigns)
    for campaign_id in campaigns:
        lead_id = await add_lead(session, account_id, campaign_id, SUBJECT_PHONE, SUBJECT_NAME)
        seeded.subject_lead_ids.append(lead_id)
        seeded.subject_call_ids.append(
            await add_call(session, account_id, campaign_id, lead_id, SUBJECT_NAME, data_dir=data_dir, recorded=True)
        )
        other = await add_lead(session, account_id, campaign_id, OTHER_PHONE, OTHER_NAME)
        seeded.other_lead_ids.append(other)
        seeded.other_call_ids.append(
            await add_call(session, account_id, campaign_id, other, OTHER_NAME, data_dir=data_dir)
        )
    session.add(DndEntry(phone=SUBJECT_PHONE, scope=account_id, blocked_all=True, source="data_principal_request"))
    await session.flush()
    return seeded
