"""TRAI's calling hours are a hard limit: windows outside 09:00-21:00 are refused by the API and the console, and at
dial time whatever window a campaign row holds is clamped to the legal hours. The suite's other tests widen the
legal hours (tests/conftest.py); these set them explicitly, as a deployment's operator does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from config.settings import Settings
from control_api.app import create_app
from control_api.campaigns.calling_hours import CallingHours
from control_api.campaigns.tables import Campaign
from control_api.dispatch import service
from control_api.dispatch.service import DispatchConfig
from control_api.dnd import service as dnd
from control_api.storage.db import Database, session_scope
from control_api.storage.types import utcnow
from tests.dispatch.seed import ALL_DAYS, demo_script, phone, seed
from tests.dispatch.test_dispatcher import advance, leads_by_phone

TRAI = CallingHours("09:00", "21:00")
CFG = DispatchConfig(worker_id="hours-test", hours=TRAI)
IST = timedelta(hours=5, minutes=30)


def ist(hour: int, minute: int = 0) -> datetime:
    """A day after the leads were uploaded (their consent is older), at this local time in India, as UTC."""
    day = (utcnow() + timedelta(days=2)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - IST


def _settings(tmp_path: Path, database_url: str, **hours: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        retention_scheduler=False,
        calling_hours_start=hours.get("start", "09:00"),
        calling_hours_end=hours.get("end", "21:00"),
    )


async def _client_with_key(client: AsyncTestClient[Any]) -> dict[str, str]:
    r = await client.post(
        "/v1/accounts",
        json={
            "name": "Hours Pvt Ltd",
            "email": "hours@example.in",
            "billing": {"legal_name": "Hours Private Limited", "address": "Pune", "country": "IN"},
        },
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['api_key']}"}


def _campaign(window: dict[str, str]) -> dict[str, Any]:
    return {"name": "Solar", "script": demo_script(), "calling_window": window, "days": ALL_DAYS}


@pytest.mark.parametrize(
    ("window", "field", "says"),
    [
        ({"start": "03:00", "end": "04:00"}, "calling_window.start", "09:00-21:00"),
        ({"start": "08:59", "end": "20:00"}, "calling_window.start", "09:00-21:00"),
        ({"start": "10:00", "end": "21:01"}, "calling_window.end", "09:00-21:00"),
        ({"start": "00:00", "end": "23:59"}, "calling_window.start", "09:00-21:00"),
        ({"start": "12:00", "end": "11:00"}, "calling_window.end", "later than"),
    ],
)
async def test_a_window_outside_the_legal_hours_is_refused(
    tmp_path: Path, sqlite_url: str, window: dict[str, str], field: str, says: str
) -> None:
    async with AsyncTestClient(app=create_app(_settings(tmp_path, sqlite_url))) as client:
        headers = await _client_with_key(client)
        r = await client.post("/v1/campaigns", json=_campaign(window), headers=headers)
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field and says in r.json()["detail"]
        ok = await client.post("/v1/campaigns", json=_campaign({"start": "09:00", "end": "21:00"}), headers=headers)
        assert ok.status_code == 201, ok.text
        patched = await client.patch(
            f"/v1/campaigns/{ok.json()['id']}", json={"calling_window": window}, headers=headers
        )
        assert patched.status_code == 422 and patched.json()["field"] == field
        narrower = await client.patch(
            f"/v1/campaigns/{ok.json()['id']}",
            json={"calling_window": {"start": "10:00", "end": "13:00"}},
            headers=headers,
        )
        assert narrower.status_code == 200 and narrower.json()["calling_window"] == {"start": "10:00", "end": "13:00"}


async def test_only_the_operator_setting_widens_the_legal_hours(tmp_path: Path, sqlite_url: str) -> None:
    settings = _settings(tmp_path, sqlite_url, start="08:00", end="22:00")
    async with AsyncTestClient(app=create_app(settings)) as client:
        headers = await _client_with_key(client)
        r = await client.post("/v1/campaigns", json=_campaign({"start": "08:00", "end": "22:00"}), headers=headers)
        assert r.status_code == 201, r.text
    with pytest.raises(ValueError, match="CLOSERR_CALLING_HOURS_START"):
        Settings(calling_hours_start="21:00", calling_hours_end="09:00")


async def test_the_stored_window_is_clamped_to_the_legal_hours_at_dial_time(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    # The row says "any hour" (stored before the hours were narrowed, or written straight into the database).
    sd = await seed(database_url, tmp_path, [{"phone": phone(1)}, {"phone": phone(2)}])
    await advance(db)
    evening = await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=5, now=ist(21, 30))
    assert evening.jobs == [] and evening.skipped == {"outside_window": 2}
    lead = (await leads_by_phone(db, sd.campaign_id))[int(phone(1)[1:])]
    assert lead.status == "pending" and lead.next_attempt_at == ist(9) + timedelta(days=1)  # the next legal opening
    night = await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=5, now=ist(3) + timedelta(days=1))
    assert night.jobs == [] and night.skipped == {}  # not due before then
    morning = await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=5, now=ist(9, 1) + timedelta(days=1))
    assert len(morning.jobs) == 2


async def test_a_stored_window_wholly_outside_the_legal_hours_never_dials(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    sd = await seed(database_url, tmp_path, [{"phone": phone(1)}])
    async with session_scope(db) as s:
        await s.execute(
            update(Campaign).where(Campaign.id == sd.campaign_id).values(window_start="03:00", window_end="04:00")
        )
    await advance(db)
    for at in (ist(3, 30), ist(12)):
        result = await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=5, now=at)
        assert result.jobs == [] and result.skipped == {"outside_window": 1}
        lead = next(iter((await leads_by_phone(db, sd.campaign_id)).values()))
        assert lead.status == "pending" and lead.next_attempt_at is not None and lead.next_attempt_at > at
        async with session_scope(db) as s:  # due again, to see the next round refuse it too
            await s.execute(update(type(lead)).values(next_attempt_at=None))


async def test_a_registry_time_band_narrows_the_legal_hours(db: Database, database_url: str, tmp_path: Path) -> None:
    sd = await seed(database_url, tmp_path, [{"phone": phone(1)}])
    async with session_scope(db) as s:  # accepts the campaign's category 5, but only 17:00-20:00
        await dnd.add_entry(
            s,
            phone(1),
            "registry_import",
            account_id=None,
            blocked_all=False,
            categories=[5],
            time_bands=[{"start": "17:00", "end": "20:00"}],
        )
    await advance(db)
    noon = await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=5, now=ist(12))
    assert noon.jobs == [] and noon.skipped == {"outside_window": 1}
    lead = next(iter((await leads_by_phone(db, sd.campaign_id)).values()))
    assert lead.status == "pending" and lead.next_attempt_at is not None and lead.next_attempt_at > ist(12)
    evening = await service.claim(db, CFG, sd.campaign_id, sd.account_id, slots=5, now=ist(17, 30))
    assert len(evening.jobs) == 1
