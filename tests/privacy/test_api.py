"""The privacy routes end to end through the real app (register -> campaign -> lead upload -> rights requests),
on SQLite and PostgreSQL; the captured logs of the whole run are scanned for the number and the name."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from config.settings import Settings
from control_api.app import create_app
from control_api.audit import pseudonymize_phone
from control_api.audit.tables import AuditEntry
from control_api.dnd.tables import DndEntry
from control_api.leads.tables import Lead
from control_api.storage.db import Database, create_database
from tests.control_api.helpers import Tenant, create_campaign, fund, register, upload_csv
from tests.privacy.conftest import files_under, find_identifiers, pg_dump
from tests.privacy.seed import OTHER_NAME, OTHER_PHONE, SUBJECT_NAME, SUBJECT_PHONE, add_call
from tests.privacy.test_audit_log import tamper

PHONE = "+919876543210"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, retention_scheduler=False)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(settings), timeout=60) as c:
        yield c


@pytest.fixture
async def app_db(database_url: str, client: AsyncTestClient[Litestar]) -> AsyncIterator[Database]:
    """The app's database seen from the test (own engine: the test client runs the app on another loop)."""
    database = create_database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def tenant(client: AsyncTestClient[Litestar]) -> Tenant:
    return await register(client, "acme")


async def _campaign_with_leads(client: AsyncTestClient[Litestar], tenant: Tenant) -> str:
    campaign = await create_campaign(client, tenant)
    csv = f"name,phone\n{SUBJECT_NAME},98765 43210\n{OTHER_NAME},{str(OTHER_PHONE)[2:]}\n"
    r = await upload_csv(client, tenant, campaign["id"], csv)
    assert r.status_code in (200, 201), r.text
    return str(campaign["id"])


async def _calls_for(db: Database, tenant: Tenant, campaign_id: str, data_dir: Path) -> list[str]:
    async with db.sessions() as s:
        leads = (await s.execute(select(Lead).where(Lead.campaign_id == campaign_id))).scalars().all()
        ids = [
            await add_call(s, tenant.account_id, campaign_id, lead.id, lead.name or "", data_dir=data_dir)
            for lead in leads
        ]
        await s.commit()
    return ids


async def test_rights_requests_end_to_end_leave_no_trace(
    client: AsyncTestClient[Litestar],
    tenant: Tenant,
    app_db: Database,
    settings: Settings,
    database_url: str,
    backend: str,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    caplog.set_level(logging.DEBUG)
    h = tenant.headers
    campaign_id = await _campaign_with_leads(client, tenant)
    await _calls_for(app_db, tenant, campaign_id, settings.data_dir)

    r = await client.get(f"/v1/subjects/{PHONE}", headers={**h, "X-Request-ID": "req-access-1"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert [lead["name"] for lead in doc["leads"]] == [SUBJECT_NAME]
    assert doc["leads"][0]["consent"]["source"] == "website form"
    assert len(doc["calls"]) == 1 and doc["calls"][0]["transcript"]
    assert r.headers["x-request-id"] == "req-access-1"

    r = await client.patch(f"/v1/subjects/{PHONE}", json={"metadata": {"city": "Nashik"}}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["leads"][0]["metadata"] == {"city": "Nashik"}

    r = await client.post("/v1/consent/withdraw", json={"phone": PHONE}, headers=h)
    assert r.status_code == 200, r.text
    async with app_db.sessions() as s:
        entry = await s.get(DndEntry, (SUBJECT_PHONE, tenant.account_id))
        assert entry is not None and entry.source == "data_principal_request"

    r = await client.delete(f"/v1/subjects/{PHONE}", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["erased"]["leads"] == 1 and r.json()["erased"]["audio_files"] == 1

    r = await client.get(f"/v1/subjects/{PHONE}", headers=h)
    assert r.json()["leads"] == [] and r.json()["erased_before"] is True
    assert [e["action"] for e in r.json()["audit_entries"]] == [
        "subject.access",
        "subject.correct",
        "consent.withdraw",
        "subject.erase",
    ]
    r = await client.get("/v1/audit/verify", headers=h)
    assert r.json()["ok"] is True

    async with app_db.sessions() as s:
        access = await s.scalar(select(AuditEntry).where(AuditEntry.action == "subject.access").limit(1))
        actions = set((await s.execute(select(AuditEntry.action))).scalars())
    assert access is not None and access.request_id == "req-access-1" and access.client_ip
    assert access.subject_ref == pseudonymize_phone(PHONE)
    assert {"account.register", "campaign.create"} <= actions

    await app_db.dispose()
    blobs = files_under(settings.data_dir)
    if backend == "postgresql":
        blobs["pg_dump"] = pg_dump(request.getfixturevalue("postgres_server"), database_url)
    blobs["captured logs"] = caplog.text.encode()
    assert not find_identifiers(blobs, SUBJECT_PHONE, SUBJECT_NAME)
    assert find_identifiers(blobs, OTHER_PHONE, OTHER_NAME)  # the scan is not blind


async def test_bad_input_gets_problem_details_naming_the_field(
    client: AsyncTestClient[Litestar], tenant: Tenant, app_db: Database
) -> None:
    h = tenant.headers
    r = await client.get("/v1/subjects/not-a-number", headers=h)
    assert r.status_code == 422 and r.json()["field"] == "phone"
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.patch(f"/v1/subjects/{PHONE}", json={"nickname": "x"}, headers=h)
    assert r.status_code == 400 and "nickname" in r.text
    r = await client.patch(f"/v1/subjects/{PHONE}", json={}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "body"
    r = await client.patch(f"/v1/subjects/{PHONE}", json={"name": "New"}, headers=h)
    assert r.status_code == 404
    r = await client.post("/v1/campaigns/nope/purge", headers=h)
    assert r.status_code == 404
    r = await client.post("/v1/grievances", json={"complainant_name": "A", "contact": "a@x.in"}, headers=h)
    assert r.status_code == 400 and "`text`" in r.json()["detail"], r.text
    r = await client.patch("/v1/privacy/settings", json={"region": "us"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "region"
    r = await client.get("/v1/subjects/" + PHONE)
    assert r.status_code == 401
    # Refused rights requests are audited too, in their own transaction.
    async with app_db.sessions() as s:
        refused = (
            await s.execute(select(AuditEntry.action, AuditEntry.outcome).where(AuditEntry.outcome != "success"))
        ).all()
    assert ("subject.access", "failure") in refused and ("subject.correct", "failure") in refused


async def test_campaign_purge_removes_leads_calls_and_audio(
    client: AsyncTestClient[Litestar], tenant: Tenant, app_db: Database, settings: Settings
) -> None:
    campaign_id = await _campaign_with_leads(client, tenant)
    call_ids = await _calls_for(app_db, tenant, campaign_id, settings.data_dir)
    r = await client.post(f"/v1/campaigns/{campaign_id}/purge", headers=tenant.headers)
    assert r.status_code == 200, r.text
    purged = r.json()["purged"]
    assert purged["leads"] == 2 and purged["calls"] == 2 and purged["audio_files"] == 2
    assert not any((settings.data_dir / "audio" / f"{c}.wav").exists() for c in call_ids)
    r = await client.get(f"/v1/campaigns/{campaign_id}/leads", headers=tenant.headers)
    assert r.status_code == 200 and r.json()["items"] == []
    other = await register(client, "globex")
    r = await client.post(f"/v1/campaigns/{campaign_id}/purge", headers=other.headers)
    assert r.status_code == 404  # another tenant's campaign is invisible


async def test_grievances_and_settings_over_http(client: AsyncTestClient[Litestar], tenant: Tenant) -> None:
    h = tenant.headers
    r = await client.post(
        "/v1/grievances",
        json={"complainant_name": "Ravi", "contact": "ravi@example.in", "text": "called after opt-out", "phone": PHONE},
        headers=h,
    )
    assert r.status_code == 201, r.text
    g = r.json()
    assert g["status"] == "open" and g["subject_ref"] == pseudonymize_phone(PHONE)
    r = await client.patch(f"/v1/grievances/{g['id']}", json={"status": "in_progress"}, headers=h)
    assert r.json()["status"] == "in_progress"
    r = await client.get("/v1/grievances?status=in_progress", headers=h)
    assert [x["id"] for x in r.json()["items"]] == [g["id"]] and r.json()["next_cursor"] is None
    r = await client.get("/v1/grievances/overdue", headers=h)
    assert r.json() == {"items": [], "next_cursor": None}
    # Pages like every other list: limit, then the opaque next_cursor.
    second = await client.post(
        "/v1/grievances", json={"complainant_name": "Asha", "contact": "asha@example.in", "text": "t"}, headers=h
    )
    assert second.status_code == 201, second.text
    first_page = (await client.get("/v1/grievances?limit=1", headers=h)).json()
    assert len(first_page["items"]) == 1 and first_page["next_cursor"]
    rest = (await client.get(f"/v1/grievances?limit=1&cursor={first_page['next_cursor']}", headers=h)).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert {first_page["items"][0]["id"], rest["items"][0]["id"]} == {g["id"], second.json()["id"]}
    r = await client.patch(f"/v1/grievances/{g['id']}", json={"status": "done"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "status"

    r = await client.get("/v1/privacy/settings", headers=h)
    assert r.json()["region"] == "in" and r.json()["effective_default_content_retention_days"] == 90
    r = await client.patch("/v1/privacy/settings", json={"content_retention_days": 30}, headers=h)
    assert r.status_code == 200 and r.json()["content_retention_days"] == 30
    r = await client.get("/v1/privacy/retention", headers=h)
    assert r.status_code == 200 and r.json()["runs"] == 0


async def test_audit_verify_route_reports_the_tampered_entry(
    client: AsyncTestClient[Litestar], tenant: Tenant, app_db: Database, database_url: str
) -> None:
    for label in ("a", "b", "c"):
        r = await client.post("/v1/api-keys", json={"label": label}, headers=tenant.headers)
        assert r.status_code == 201, r.text
    r = await client.get("/v1/audit/verify", headers=tenant.headers)
    assert r.json()["ok"] is True and r.json()["checked"] == 4  # registration + three key creations
    await tamper(app_db, database_url, 3)
    r = await client.get("/v1/audit/verify", headers=tenant.headers)
    body = r.json()
    assert body["ok"] is False and body["first_broken_seq"] == 3


async def test_secrets_never_reach_logs_or_responses(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "hmac-secret-Zq81xT-do-not-leak"
    monkeypatch.setenv("CLOSERR_AUDIT_HMAC_KEY", secret)
    caplog.set_level(logging.DEBUG)
    settings = Settings(data_dir=tmp_path / "sec", database_url=database_url, retention_scheduler=False)
    assert secret not in repr(settings) and secret not in str(settings.model_dump())
    bodies: list[str] = []
    async with AsyncTestClient(app=create_app(settings), timeout=60) as c:
        tenant = await register(c, "initech")
        for method, path, body in [
            ("GET", f"/v1/subjects/{PHONE}", None),
            ("GET", "/v1/subjects/bogus", None),
            ("PATCH", f"/v1/subjects/{PHONE}", {"name": 5}),
            ("GET", "/v1/audit/verify", None),
            ("PATCH", "/v1/privacy/settings", {"region": "zz"}),
            ("GET", "/v1/privacy/settings", None),
        ]:
            r = await c.request(method, path, json=body, headers=tenant.headers)
            bodies.append(r.text)
    assert not any(secret in b for b in bodies)
    assert secret not in caplog.text


async def test_account_key_campaign_and_settings_changes_are_audited(
    client: AsyncTestClient[Litestar], tenant: Tenant, app_db: Database
) -> None:
    h = tenant.headers
    cid = await _campaign_with_leads(client, tenant)
    assert (await client.patch(f"/v1/campaigns/{cid}", json={"retention_days": 30}, headers=h)).status_code == 200
    await fund(app_db, tenant)
    r = await client.post(f"/v1/campaigns/{cid}/start", headers=h)
    assert r.status_code == 200, r.text
    started = r.json()["state"]
    r = await client.post(f"/v1/campaigns/{cid}/cancel", headers=h)
    assert r.status_code == 200, r.text
    r = await client.post("/v1/api-keys", json={"label": "ci"}, headers=h)
    new_key = r.json()["id"]
    assert (await client.post(f"/v1/api-keys/{new_key}/rotate", headers=h)).status_code == 201
    r = await client.patch("/v1/privacy/settings", json={"content_retention_days": 45}, headers=h)
    assert r.status_code == 200
    async with app_db.sessions() as s:
        rows = (await s.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars().all()
    by_action: dict[str, list[AuditEntry]] = {}
    for row in rows:
        by_action.setdefault(row.action, []).append(row)
    assert {"account.register", "campaign.create", "campaign.update", "api_key.create", "api_key.rotate"} <= set(
        by_action
    )
    assert [json.loads(e.details)["to"] for e in by_action["campaign.state"]] == [started, "cancelled"]
    assert json.loads(by_action["campaign.update"][0].details) == {"fields": ["retention_days"]}
    assert json.loads(by_action["settings.privacy"][0].details) == {"content_retention_days": 45}
    assert all(e.tenant_id == tenant.account_id for e in rows)
    assert all(e.client_ip for e in rows) and all(e.request_id for e in rows)


async def test_data_directory_is_owner_only(client: AsyncTestClient[Litestar], settings: Settings) -> None:
    # The app has started (the client fixture ran its lifespan).
    assert (settings.data_dir.stat().st_mode & 0o777) == 0o700
    for f in settings.data_dir.glob("*.sqlite3*"):
        assert (f.stat().st_mode & 0o077) == 0
