"""DND registry: import, lookup, withdrawal taking effect at once, and the dial-time check."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from control_api.dnd import service as dnd
from control_api.dnd.preferences import Source
from control_api.storage.db import Database
from tests.control_api.helpers import Tenant

REGISTRY = (
    "phone,preference,time_bands\n"
    "9876543210,0\n"
    "9876543211,5\n"
    "9876543212,1|2|5,10:00-13:00\n"
    "not-a-number,0\n"
    "9876543213,42\n"
    "9876543211,5|7\n"  # a later line for the same number wins
)


async def _import(client: AsyncTestClient[Litestar], tenant: Tenant, body: str, scope: str = "registry") -> dict:
    r = await client.post(
        f"/v1/dnd/import?scope={scope}", content=body.encode(), headers={**tenant.headers, "Content-Type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_import_and_lookup(client: AsyncTestClient[Litestar], tenant: Tenant, operator: Tenant) -> None:
    report = await _import(client, operator, REGISTRY)
    assert report == {
        "rows": 6,
        "imported": 4,
        "invalid_number": 1,
        "malformed_row": 1,
        "rejected_lines": [5, 6],
        "scope": "registry",
    }
    r = (await client.get("/v1/dnd/+91%2098765%2043211", headers=tenant.headers)).json()
    assert r["phone"] == "+919876543211" and r["listed"] is True
    (entry,) = r["entries"]
    assert entry["scope"] == "registry" and entry["blocked_all"] is False
    assert entry["accepted_categories"] == [5, 7] and entry["source"] == "registry_import"

    r = (await client.get("/v1/dnd/9876543212?category=5", headers=tenant.headers)).json()
    assert r["entries"][0]["time_bands"] == [{"start": "10:00", "end": "13:00"}]
    r = (await client.get("/v1/dnd/9876543210?category=5", headers=tenant.headers)).json()
    assert r["verdict"] == {"category": 5, "allowed": False, "reason": "fully_blocked"}
    r = (await client.get("/v1/dnd/9999999999", headers=tenant.headers)).json()
    assert r["listed"] is False and r["entries"] == []
    r = await client.get("/v1/dnd/12", headers=tenant.headers)
    assert r.status_code == 422 and r.json()["field"] == "phone"
    r = await client.get("/v1/dnd/9876543210?category=9", headers=tenant.headers)
    assert r.status_code == 400 and r.json()["field"] == "category"


async def test_check_at_dial_time(
    client: AsyncTestClient[Litestar], tenant: Tenant, operator: Tenant, db: Database
) -> None:
    await _import(client, operator, REGISTRY)
    noon_ist = datetime(2026, 6, 1, 6, 30, tzinfo=UTC)
    evening_ist = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
    async with db.sessions() as s:
        full = await dnd.check(s, "+919876543210", 5, at=noon_ist)
        assert not full.allowed and full.reason == "fully_blocked" and full.entry is not None
        assert full.entry.source == "registry_import"
        # Partially blocked but accepting category 5: a category-5 campaign may call, a category-2 one may not.
        assert (await dnd.check(s, "9876543211", 5, at=noon_ist)).allowed
        assert (await dnd.check(s, "9876543211", 2, at=noon_ist)).reason == "category_not_accepted"
        # Time bands in the lead's local time.
        assert (await dnd.check(s, 919876543212, 5, at=noon_ist)).allowed
        assert (await dnd.check(s, 919876543212, 5, at=evening_ist)).reason == "outside_time_band"
        clean = await dnd.check(s, "9123456789", 5, account_id=tenant.account_id)
        assert clean.allowed and clean.entry is None and clean.to_dict()["entry"] is None
        assert full.to_dict()["entry"]["scope"] == "registry"


async def test_withdrawal_takes_effect_on_the_next_dial(
    client: AsyncTestClient[Litestar], tenant: Tenant, other_tenant: Tenant, db: Database
) -> None:
    async with db.sessions() as s:
        assert (await dnd.check(s, "9876500001", 5, account_id=tenant.account_id)).allowed
    r = await client.post("/v1/consent/withdraw", json={"phone": "098765 00001"}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == "+919876500001" and r.json()["suppressed"] is True
    async with db.sessions() as s:
        verdict = await dnd.check(s, "+919876500001", 5, account_id=tenant.account_id)
        assert not verdict.allowed and verdict.reason == "suppressed"
        assert verdict.entry is not None and verdict.entry.source in ("api_opt_out", "data_principal_request")
        # It is this client's suppression list: another client's lookup does not show it.
        assert (await dnd.check(s, "+919876500001", 5, account_id=other_tenant.account_id)).allowed
    lookup = (await client.get("/v1/dnd/9876500001?category=1", headers=tenant.headers)).json()
    assert lookup["verdict"]["allowed"] is False and lookup["entries"][0]["scope"] == "account"
    assert (await client.get("/v1/dnd/9876500001", headers=other_tenant.headers)).json()["listed"] is False
    r = await client.post("/v1/consent/withdraw", json={"phone": "nope"}, headers=tenant.headers)
    assert r.status_code == 422 and r.json()["field"] == "phone"
    r = await client.post("/v1/consent/withdraw", json={}, headers=tenant.headers)
    assert r.status_code == 400 and r.json()["field"] == "phone"


async def test_opt_out_in_a_call_blocks_uploads_too(
    client: AsyncTestClient[Litestar], tenant: Tenant, db: Database
) -> None:
    async with db.sessions() as s:
        await dnd.add_entry(s, "9876500002", Source.CALL_OPT_OUT, account_id=tenant.account_id)
        await s.commit()
    from tests.control_api.helpers import create_campaign, upload_csv

    c = await create_campaign(client, tenant)
    r = (await upload_csv(client, tenant, c["id"], "phone\n9876500002\n9876500003\n")).json()
    assert r["accepted"] == 1 and r["rejected"] == [{"line": 2, "reason": "dnd_blocked"}]


async def test_account_scope_import_is_a_suppression_list(
    client: AsyncTestClient[Litestar], tenant: Tenant, other_tenant: Tenant
) -> None:
    report = await _import(client, tenant, "9876500004,0\n", scope="account")
    assert report["imported"] == 1 and report["scope"] == "account"
    assert (await client.get("/v1/dnd/9876500004", headers=tenant.headers)).json()["listed"] is True
    assert (await client.get("/v1/dnd/9876500004", headers=other_tenant.headers)).json()["listed"] is False


async def test_a_bulk_import_leaves_the_registry_vacuumed_and_analysed(
    client: AsyncTestClient[Litestar], operator: Tenant, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dnd, "SETTLE_AFTER_ROWS", 3)
    await _import(client, operator, REGISTRY)
    if db.dialect != "postgresql":
        return  # SQLite: nothing to settle; the import still answers normally
    async with db.engine.connect() as conn:
        row = (
            await conn.exec_driver_sql(
                "SELECT last_vacuum IS NOT NULL, last_analyze IS NOT NULL FROM pg_stat_user_tables "
                "WHERE relname = 'dnd_entries'"
            )
        ).one()
    assert tuple(row) == (True, True)
