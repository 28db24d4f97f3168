"""Lead uploads: per-row report, consent and no-minors attestation, dedupe, DND scrub, atomicity, streaming."""

from __future__ import annotations

import json

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from control_api.leads.tables import Lead, LeadUpload
from control_api.storage.db import Database
from tests.control_api.helpers import ATTEST, Tenant, create_campaign, demo_script, upload_csv

CSV = (
    "name,phone,city\n"
    "Asha,98765 43210,Pune\n"  # 2 accepted
    "Ravi,+91 98765 43211,Mumbai\n"  # 3 accepted
    "Bad,12345,X\n"  # 4 invalid_number
    "Again,09876543210,Y\n"  # 5 duplicate (of line 2)
    "Toll,1800 123 4567,Z\n"  # 6 not_a_mobile
    "Broken,row\n"  # 7 malformed_row
    "Blocked,9876543212,W\n"  # 8 dnd_blocked (fully blocked)
    "Partial,9876543213,V\n"  # 9 accepted: accepts category 5
    "Other,9876543214,U\n"  # 10 dnd_blocked: accepts only 1 and 2
)


async def _import_registry(client: AsyncTestClient[Litestar], tenant: Tenant, body: str) -> dict:
    r = await client.post(
        "/v1/dnd/import", content=body.encode(), headers={**tenant.headers, "Content-Type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_upload_reports_every_rejected_row_with_reason(
    client: AsyncTestClient[Litestar], tenant: Tenant, operator: Tenant, db: Database
) -> None:
    await _import_registry(client, operator, "phone,preference\n9876543212,0\n9876543213,5\n9876543214,1|2\n")
    c = await create_campaign(client, tenant)  # category 5
    r = await upload_csv(client, tenant, c["id"], CSV)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["accepted"] == 3
    assert report["rejected"] == [
        {"line": 4, "reason": "invalid_number"},
        {"line": 5, "reason": "duplicate"},
        {"line": 6, "reason": "not_a_mobile"},
        {"line": 7, "reason": "malformed_row"},
        {"line": 8, "reason": "dnd_blocked"},
        {"line": 10, "reason": "dnd_blocked"},
    ]
    assert report["rows"] == 9 == report["accepted"] + len(report["rejected"])

    leads = (await client.get(f"/v1/campaigns/{c['id']}/leads", headers=tenant.headers)).json()["items"]
    assert [(x["phone"], x["name"], x["metadata"]) for x in leads] == [
        ("+919876543210", "Asha", {"city": "Pune"}),
        ("+919876543211", "Ravi", {"city": "Mumbai"}),
        ("+919876543213", "Partial", {"city": "V"}),
    ]
    consent = leads[0]["consent"]
    assert consent["source"] == "website form" and consent["purpose"] == "solar quote"
    assert consent["upload_id"] == report["upload_id"] and consent["attested_by"]
    async with db.sessions() as s:
        upload = await s.get(LeadUpload, report["upload_id"])
    assert upload is not None and upload.no_minors_attested and upload.accepted == 3 and upload.rejected == 6

    # Same file again: everything already in the campaign is a duplicate now; DND rows still dnd_blocked.
    again = (await upload_csv(client, tenant, c["id"], CSV)).json()
    assert again["accepted"] == 0
    assert [x["reason"] for x in again["rejected"] if x["line"] in (2, 3, 9)] == ["duplicate"] * 3


async def test_category_of_campaign_decides_partial_blocks(
    client: AsyncTestClient[Litestar], tenant: Tenant, operator: Tenant
) -> None:
    await _import_registry(client, operator, "9876543213,5\n")
    cat2 = await create_campaign(client, tenant, script=demo_script(category=2))
    r = (await upload_csv(client, tenant, cat2["id"], "phone\n9876543213\n")).json()
    assert r["accepted"] == 0 and r["rejected"] == [{"line": 2, "reason": "dnd_blocked"}]


async def test_consent_per_row_or_missing(client: AsyncTestClient[Litestar], tenant: Tenant) -> None:
    c = await create_campaign(client, tenant)
    body = (
        "phone,name,consent_source,consent_at,consent_purpose\n"
        "9876543210,A,expo stall,2026-02-01T10:00:00+05:30,solar quote\n"
        "9876543211,B,,,\n"
    )
    r = await upload_csv(client, tenant, c["id"], body, query="no_minors_attested=true")
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    assert r.json()["rejected"] == [{"line": 3, "reason": "consent_missing"}]
    lead = (await client.get(f"/v1/campaigns/{c['id']}/leads", headers=tenant.headers)).json()["items"][0]
    assert lead["consent"]["source"] == "expo stall"
    assert lead["consent"]["at"].startswith("2026-02-01T04:30:00")


async def test_no_minors_attestation_is_required(
    client: AsyncTestClient[Litestar], tenant: Tenant, db: Database
) -> None:
    c = await create_campaign(client, tenant)
    r = await upload_csv(client, tenant, c["id"], "phone\n9876543210\n", query="consent_source=a&consent_purpose=b")
    assert r.status_code == 422
    assert r.json()["field"] == "no_minors_attested"
    r = await upload_csv(
        client,
        tenant,
        c["id"],
        "phone,no_minors\n9876543210,yes\n9876543211,\n",
        query="consent_source=a&consent_purpose=b",
    )
    assert r.json()["accepted"] == 1 and r.json()["rejected"] == [{"line": 3, "reason": "consent_missing"}]
    r = await upload_csv(
        client, tenant, c["id"], "phone\n9876543212\n", query="no_minors_attested=true&consent_source=a"
    )
    assert r.status_code == 422 and r.json()["field"] == "consent_purpose"


async def test_ndjson_upload(client: AsyncTestClient[Litestar], tenant: Tenant) -> None:
    c = await create_campaign(client, tenant)
    lines = [
        {"phone": "9876543210", "name": "A", "metadata": {"plan": "3kW"}},
        {"phone": "not a number"},
        {
            "phone": "9876543211",
            "consent_source": "call centre",
            "consent_at": "2026-01-01T00:00:00Z",
            "consent_purpose": "solar",
        },
    ]
    body = "\n".join(json.dumps(x) for x in lines) + "\n{broken\n"
    r = await client.post(
        f"/v1/campaigns/{c['id']}/leads?{ATTEST}",
        content=body.encode(),
        headers={**tenant.headers, "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 2
    assert r.json()["rejected"] == [{"line": 2, "reason": "invalid_number"}, {"line": 4, "reason": "malformed_row"}]
    items = (await client.get(f"/v1/campaigns/{c['id']}/leads", headers=tenant.headers)).json()["items"]
    assert items[1]["consent"]["source"] == "call centre"


async def _count_leads(db: Database) -> int:
    async with db.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Lead)) or 0)


async def test_a_refused_upload_leaves_nothing(client: AsyncTestClient[Litestar], tenant: Tenant, db: Database) -> None:
    c = await create_campaign(client, tenant)
    good_rows = "".join(f"98765{i:05d}\n" for i in range(2000))
    # Bigger than the limit (5 MB in these tests): refused from its Content-Length before anything is read.
    r = await upload_csv(client, tenant, c["id"], "phone\n" + good_rows + "9" * 5_000_000)
    assert r.status_code == 413 and r.json()["field"] == "body"
    r = await client.post(
        f"/v1/campaigns/{c['id']}/leads?{ATTEST}",
        content=b"x",
        headers={**tenant.headers, "Content-Type": "application/pdf"},
    )
    assert r.status_code == 415 and r.json()["field"] == "Content-Type"
    # A header without a phone column, after good rows would have been read: refused whole.
    r = await upload_csv(client, tenant, c["id"], "name,mobile\nA,9876543210\n")
    assert r.status_code == 422 and r.json()["field"] == "phone"
    assert await _count_leads(db) == 0
    async with db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(LeadUpload)) == 0
    assert (await upload_csv(client, tenant, c["id"], "phone\n" + good_rows)).json()["accepted"] == 2000
    assert await _count_leads(db) == 2000


async def test_no_uploads_to_finished_campaigns(client: AsyncTestClient[Litestar], tenant: Tenant) -> None:
    c = await create_campaign(client, tenant)
    await client.post(f"/v1/campaigns/{c['id']}/cancel", headers=tenant.headers)
    r = await upload_csv(client, tenant, c["id"], "phone\n9876543210\n")
    assert r.status_code == 409 and r.json()["state"] == "cancelled"
