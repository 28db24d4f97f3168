"""Roles, key scopes and the operator, through the real app on SQLite and PostgreSQL: two client tenants and an
operator. A client cannot touch the national DND registry or see other tenants' audit rows; narrow keys do only
what their scope says; operator-only endpoints refuse clients; a suspended account is refused and not dialed."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from config.settings import Settings
from control_api.accounts import policy
from control_api.accounts.service import Principal
from control_api.app import create_app
from control_api.audit.personal_data import PersonalDataInAuditError, check_no_personal_data
from control_api.audit.tables import AuditEntry
from control_api.credits import ledger
from control_api.credits.tables import CreditEntry
from control_api.dispatch import service as dispatch
from control_api.dispatch.service import DispatchConfig
from control_api.errors import Forbidden
from control_api.storage.db import Database, session_scope

# The API fixtures (both backends, two tenants, an operator) live with the control API tests.
from tests.control_api.conftest import *  # noqa: F403
from tests.control_api.helpers import Tenant, create_campaign, upload_csv
from tests.dispatch.seed import ALL_DAYS, ALWAYS_OPEN, ANY_HOUR
from tests.privacy.test_audit_log import tamper

REPO = Path(__file__).resolve().parents[2]
BLOCKED = "9876543210"
CSV = {"Content-Type": "text/csv"}
Client = AsyncTestClient[Litestar]


async def _verdict(client: Client, who: Tenant, phone: str = BLOCKED, category: int = 5) -> dict[str, Any]:
    r = await client.get(f"/v1/dnd/{phone}?category={category}", headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()["verdict"]  # type: ignore[no-any-return]


async def _new_key(client: Client, who: Tenant, scope: str) -> Tenant:
    r = await client.post("/v1/api-keys", json={"label": scope, "scope": scope}, headers=who.headers)
    assert r.status_code == 201, r.text
    assert r.json()["scope"] == scope
    return Tenant(account_id=who.account_id, api_key=r.json()["api_key"], key_id=r.json()["id"])


def _forbidden(r: Any, slug: str) -> dict[str, Any]:
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["type"].endswith("/" + slug), body
    return body


# -- the national registry ---------------------------------------------------------------------------------------


async def test_a_client_cannot_import_into_the_registry_and_other_tenants_verdicts_stay(
    client: Client, tenant: Tenant, other_tenant: Tenant, operator: Tenant
) -> None:
    r = await client.post("/v1/dnd/import", content=f"{BLOCKED},0\n".encode(), headers={**operator.headers, **CSV})
    assert r.status_code == 200 and r.json()["scope"] == "registry", r.text
    assert await _verdict(client, other_tenant) == {"category": 5, "allowed": False, "reason": "fully_blocked"}

    # The attack of the review: re-import the number accepting every category, for everyone.
    every_category = f"{BLOCKED},1|2|3|4|5|6|7|8\n".encode()
    r = await client.post("/v1/dnd/import?scope=registry", content=every_category, headers={**tenant.headers, **CSV})
    body = _forbidden(r, "role-required")
    assert body["field"] == "scope" and body["required_role"] == "operator"
    assert "operator" in body["detail"] and "suppression list" in body["detail"]
    assert await _verdict(client, other_tenant) == {"category": 5, "allowed": False, "reason": "fully_blocked"}
    assert await _verdict(client, tenant) == {"category": 5, "allowed": False, "reason": "fully_blocked"}

    # Without a scope a client's import goes to its own suppression list, never the registry.
    r = await client.post("/v1/dnd/import", content=every_category, headers={**tenant.headers, **CSV})
    assert r.status_code == 200 and r.json()["scope"] == "account", r.text
    assert await _verdict(client, other_tenant) == {"category": 5, "allowed": False, "reason": "fully_blocked"}
    r = await client.post("/v1/dnd/import", content=b"9876543299,0\n", headers={**tenant.headers, **CSV})
    assert (await _verdict(client, tenant, "9876543299"))["allowed"] is False
    assert (await _verdict(client, other_tenant, "9876543299"))["allowed"] is True


async def test_the_operator_imports_into_the_registry_for_every_tenant(
    client: Client, tenant: Tenant, other_tenant: Tenant, operator: Tenant
) -> None:
    for who in (tenant, other_tenant):
        assert (await _verdict(client, who, "9876543211"))["allowed"] is True
    r = await client.post(
        "/v1/dnd/import?scope=registry", content=b"9876543211,1|2\n", headers={**operator.headers, **CSV}
    )
    assert r.status_code == 200 and r.json()["imported"] == 1, r.text
    for who in (tenant, other_tenant):
        assert await _verdict(client, who, "9876543211") == {
            "category": 5,
            "allowed": False,
            "reason": "category_not_accepted",
        }


async def test_operator_actions_are_audited_as_the_operator(
    client: Client, operator: Tenant, tenant: Tenant, db: Database
) -> None:
    r = await client.post("/v1/dnd/import", content=b"9876543212,0\n", headers={**operator.headers, **CSV})
    assert r.status_code == 200, r.text
    async with db.sessions() as s:
        row = (await s.execute(select(AuditEntry).where(AuditEntry.action == "dnd.import"))).scalar_one()
    assert row.actor.startswith("operator:") and row.tenant_id == operator.account_id
    assert json.loads(row.details) == {"scope": "registry", "imported": 1}


def test_the_audit_guard_takes_operator_actors_for_what_they_are() -> None:
    # Dispatch entries name who started a campaign ("started_by"); an actor is never mistaken for a phone number.
    check_no_personal_data({"started_by": "operator:079839109369"})
    check_no_personal_data({"started_by": "key:079839109369"})
    with pytest.raises(PersonalDataInAuditError):
        check_no_personal_data({"started_by": "someone:07983910936"})


# -- audit verification ------------------------------------------------------------------------------------------


async def _seqs(db: Database, tenant_id: str) -> list[int]:
    async with db.sessions() as s:
        rows = await s.execute(select(AuditEntry.seq).where(AuditEntry.tenant_id == tenant_id).order_by(AuditEntry.seq))
        return [int(seq) for seq in rows.scalars()]


async def test_a_client_verifies_only_its_own_entries_and_the_operator_the_whole_chain(
    client: Client, tenant: Tenant, other_tenant: Tenant, operator: Tenant, db: Database, database_url: str
) -> None:
    for who in (tenant, other_tenant, tenant, other_tenant):
        r = await client.post("/v1/api-keys", json={"label": "k"}, headers=who.headers)
        assert r.status_code == 201, r.text
    mine, theirs = await _seqs(db, tenant.account_id), await _seqs(db, other_tenant.account_id)
    assert len(mine) == 3 and len(theirs) == 3  # registration and two keys each
    r = await client.get("/v1/audit/verify", headers=tenant.headers)
    assert r.json() == {**r.json(), "ok": True, "checked": 3, "scope": "account"}

    await tamper(db, database_url, theirs[1])  # another tenant's row, edited behind the application's back
    r = await client.get("/v1/audit/verify", headers=tenant.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True and body["checked"] == 3 and body["first_broken_seq"] is None
    assert other_tenant.account_id not in r.text  # nothing of the other tenant is reported
    r = await client.get("/v1/audit/verify", headers=other_tenant.headers)
    assert r.json()["ok"] is False and r.json()["first_broken_seq"] == theirs[1]
    r = await client.get("/v1/audit/verify", headers=operator.headers)
    assert r.json()["ok"] is False and r.json()["first_broken_seq"] == theirs[1]
    assert r.json()["scope"] == "platform"

    await tamper(db, database_url, mine[2])  # and now one of this tenant's own rows
    body = (await client.get("/v1/audit/verify", headers=tenant.headers)).json()
    assert body["ok"] is False and body["first_broken_seq"] == mine[2] and body["checked"] == 2
    assert body["reason"] == "entry content does not match its stored hash"


# -- key scopes --------------------------------------------------------------------------------------------------


async def test_a_read_only_key_reads_but_cannot_write(client: Client, tenant: Tenant) -> None:
    campaign = await create_campaign(client, tenant)
    reader = await _new_key(client, tenant, "read_only")
    assert (await client.get("/v1/campaigns", headers=reader.headers)).status_code == 200
    assert (await client.get(f"/v1/campaigns/{campaign['id']}", headers=reader.headers)).status_code == 200
    r = await client.post("/v1/campaigns", json={"name": "x", "script": {}}, headers=reader.headers)
    body = _forbidden(r, "scope-required")
    assert body["key_scope"] == "read_only" and body["required_scope"] == "full" and "read_only" in body["detail"]
    _forbidden(await client.post(f"/v1/campaigns/{campaign['id']}/start", headers=reader.headers), "scope-required")
    _forbidden(await client.post("/v1/api-keys", json={"scope": "full"}, headers=reader.headers), "scope-required")
    _forbidden(await client.delete(f"/v1/api-keys/{tenant.key_id}", headers=reader.headers), "scope-required")
    keys = (await client.get("/v1/api-keys", headers=tenant.headers)).json()["items"]
    assert {k["id"]: k["scope"] for k in keys} == {tenant.key_id: "full", reader.key_id: "read_only"}


async def test_a_leads_upload_key_uploads_leads_but_cannot_start_a_campaign(client: Client, tenant: Tenant) -> None:
    campaign = await create_campaign(client, tenant)
    crm = await _new_key(client, tenant, "leads_upload")
    r = await upload_csv(client, crm, campaign["id"], "name,phone\nAsha,9876500001\n")
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    assert (await client.get(f"/v1/campaigns/{campaign['id']}/leads", headers=crm.headers)).status_code == 200
    body = _forbidden(await client.post(f"/v1/campaigns/{campaign['id']}/start", headers=crm.headers), "scope-required")
    assert body["key_scope"] == "leads_upload" and body["required_scope"] == "full"
    _forbidden(
        await client.post("/v1/consent/withdraw", json={"phone": "9876500001"}, headers=crm.headers), "scope-required"
    )
    state = (await client.get(f"/v1/campaigns/{campaign['id']}", headers=tenant.headers)).json()["state"]
    assert state == "draft"


def _principal(scope: str) -> Principal:
    return Principal(account_id="a", key_id="k", key_prefix="abcdef123456", role="client", scope=scope, suspended=False)


def test_a_key_never_grants_a_wider_scope_than_its_own() -> None:
    with pytest.raises(Forbidden) as refused:
        policy.check_grant(_principal("leads_upload"), "full")
    assert refused.value.field == "scope" and refused.value.extra["required_scope"] == "full"
    with pytest.raises(Forbidden):
        policy.check_grant(_principal("read_only"), "leads_upload")
    policy.check_grant(_principal("leads_upload"), "read_only")
    policy.check_grant(_principal("full"), "full")


async def test_an_unknown_scope_is_refused_naming_the_field(client: Client, tenant: Tenant) -> None:
    r = await client.post("/v1/api-keys", json={"scope": "admin"}, headers=tenant.headers)
    assert r.status_code == 400 and r.json()["field"] == "scope"


# -- who may call what -------------------------------------------------------------------------------------------


async def test_operator_keys_are_not_tenants_and_clients_are_not_operators(
    client: Client, tenant: Tenant, operator: Tenant
) -> None:
    body = _forbidden(await client.get("/v1/campaigns", headers=operator.headers), "role-required")
    assert body["required_role"] == "client" and "client key" in body["detail"]
    _forbidden(
        await client.post("/v1/campaigns", json={"name": "x", "script": {}}, headers=operator.headers), "role-required"
    )
    _forbidden(await client.get("/v1/credits", headers=operator.headers), "role-required")
    assert (await client.get("/v1/accounts/me", headers=operator.headers)).status_code == 200
    assert (await client.get("/v1/api-keys", headers=operator.headers)).status_code == 200
    for path in ("credits", "suspend", "unsuspend"):
        r = await client.post(
            f"/v1/operator/accounts/{tenant.account_id}/{path}", json={"amount": 5}, headers=tenant.headers
        )
        assert _forbidden(r, "role-required")["required_role"] == "operator"


async def test_sign_up_never_makes_an_operator(client: Client, db: Database) -> None:
    body = {
        "name": "Mallory",
        "email": "mallory@example.in",
        "billing": {"legal_name": "Mallory", "address": "Pune"},
        "role": "operator",
    }
    r = await client.post("/v1/accounts", json=body)
    assert r.status_code == 400 and r.json()["field"] == "role"
    del body["role"]
    r = await client.post("/v1/accounts", json=body)
    assert r.status_code == 201, r.text
    key = {"Authorization": f"Bearer {r.json()['api_key']}"}
    _forbidden(await client.post("/v1/operator/accounts/x/suspend", headers=key), "role-required")
    _forbidden(
        await client.post("/v1/dnd/import?scope=registry", content=b"9876543210,0\n", headers={**key, **CSV}),
        "role-required",
    )


# -- credits -----------------------------------------------------------------------------------------------------


async def _ledger(db: Database, account_id: str) -> list[tuple[str, int, str | None]]:
    async with db.sessions() as s:
        rows = await s.execute(select(CreditEntry).where(CreditEntry.account_id == account_id).order_by(CreditEntry.id))
        return [(e.kind, e.amount, e.note) for e in rows.scalars()]


async def test_an_operator_top_up_is_idempotent_and_audited(
    client: Client, tenant: Tenant, operator: Tenant, db: Database
) -> None:
    url = f"/v1/operator/accounts/{tenant.account_id}/credits"
    once = {**operator.headers, "Idempotency-Key": "invoice-2026-0042"}
    first = await client.post(url, json={"amount": 500, "note": "invoice 42"}, headers=once)
    assert first.status_code == 200, first.text
    assert first.json()["balance"] == 500 and first.json()["amount"] == 500
    again = await client.post(url, json={"amount": 500, "note": "invoice 42"}, headers=once)
    assert again.status_code == 200 and again.json() == first.json()
    assert await _ledger(db, tenant.account_id) == [("topup", 500, "invoice 42")]

    r = await client.post(url, json={"amount": 900, "note": "invoice 42"}, headers=once)
    assert r.status_code == 409 and r.json()["field"] == "Idempotency-Key", r.text
    r = await client.post(url, json={"amount": 500, "note": "other"}, headers=once)
    assert r.status_code == 409
    assert await _ledger(db, tenant.account_id) == [("topup", 500, "invoice 42")]

    r = await client.post(url, json={"amount": 20}, headers={**operator.headers, "Idempotency-Key": "a b"})
    assert r.status_code == 422 and r.json()["field"] == "Idempotency-Key"
    r = await client.post(url, json={"amount": 0}, headers=operator.headers)
    assert r.status_code == 400 and r.json()["field"] == "amount"
    r = await client.post("/v1/operator/accounts/nope/credits", json={"amount": 5}, headers=operator.headers)
    assert r.status_code == 404
    r = await client.post(
        f"/v1/operator/accounts/{operator.account_id}/credits", json={"amount": 5}, headers=operator.headers
    )
    assert r.status_code == 409
    second = await client.post(url, json={"amount": 20}, headers=operator.headers)
    assert second.status_code == 200 and second.json()["balance"] == 520
    credits = (await client.get("/v1/credits", headers=tenant.headers)).json()
    assert credits["balance"] == 520

    async with db.sessions() as s:
        rows = (await s.execute(select(AuditEntry).where(AuditEntry.action == "credits.topup"))).scalars().all()
    assert [json.loads(r.details)["amount"] for r in rows] == [500, 20]
    assert {r.tenant_id for r in rows} == {tenant.account_id}
    assert all(r.actor.startswith("operator:") for r in rows)
    verify = (await client.get("/v1/audit/verify", headers=tenant.headers)).json()
    assert verify["ok"] is True  # the operator's entries about this account are in its own part of the chain


# -- suspension --------------------------------------------------------------------------------------------------


CFG = DispatchConfig(worker_id="roles-test", lease_ttl_s=30, account_concurrency=20, rate_per_second=1, hours=ANY_HOUR)


async def _console_sign_in(client: Client, api_key: str) -> int:
    await client.get("/console/login")
    token = client.cookies.get("closerr_csrf") or ""
    r = await client.post(
        "/console/login", data={"api_key": api_key}, headers={"x-csrftoken": token}, follow_redirects=False
    )
    client.cookies.clear()
    return r.status_code


async def test_a_suspended_account_is_refused_and_its_campaigns_are_not_dialed(
    client: Client, tenant: Tenant, other_tenant: Tenant, operator: Tenant, db: Database
) -> None:
    campaign = await create_campaign(client, tenant, calling_window=ALWAYS_OPEN, days=ALL_DAYS)
    r = await upload_csv(client, tenant, campaign["id"], "name,phone\nAsha,9876500011\nRavi,9876500012\n")
    assert r.status_code == 200 and r.json()["accepted"] == 2, r.text
    async with session_scope(db) as s:
        await ledger.top_up(s, tenant.account_id, 100_000)
    r = await client.post(f"/v1/campaigns/{campaign['id']}/start", headers=tenant.headers)
    assert r.status_code == 200, r.text

    r = await client.post(f"/v1/operator/accounts/{tenant.account_id}/suspend", headers=operator.headers)
    assert r.status_code == 200 and r.json()["suspended"] is True, r.text
    body = _forbidden(await client.get("/v1/campaigns", headers=tenant.headers), "account-suspended")
    assert "suspended" in body["detail"] and body["title"] == "Account suspended"
    _forbidden(await client.get("/v1/accounts/me", headers=tenant.headers), "account-suspended")
    assert (await client.get("/v1/campaigns", headers=other_tenant.headers)).status_code == 200
    assert await _console_sign_in(client, tenant.api_key) == 401
    assert await _console_sign_in(client, other_tenant.api_key) == 303

    await dispatch.advance_campaigns(db)
    held = await dispatch.claim(db, CFG, campaign["id"], tenant.account_id, slots=5)
    assert held.jobs == [] and held.skipped == {}

    # Asking again changes nothing and records nothing more.
    r = await client.post(f"/v1/operator/accounts/{tenant.account_id}/suspend", headers=operator.headers)
    assert r.status_code == 200 and r.json()["suspended"] is True
    r = await client.post(f"/v1/operator/accounts/{tenant.account_id}/unsuspend", headers=operator.headers)
    assert r.status_code == 200 and r.json() == {
        "account_id": tenant.account_id,
        "suspended": False,
        "suspended_at": None,
    }
    assert (await client.get("/v1/campaigns", headers=tenant.headers)).status_code == 200
    dialed = await dispatch.claim(db, CFG, campaign["id"], tenant.account_id, slots=5)
    assert len(dialed.jobs) == 2

    async with db.sessions() as s:
        rows = (await s.execute(select(AuditEntry).where(AuditEntry.object_id == tenant.account_id))).scalars().all()
    actions = [r.action for r in rows if r.action.startswith("account.")]
    assert actions == ["account.register", "account.suspend", "account.unsuspend"]


# -- closerr operator create -------------------------------------------------------------------------------------


def _closerr(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLOSERR_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("CLOSERR_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "closerr.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


async def test_closerr_operator_create_makes_a_working_operator_key(tmp_path: Path) -> None:
    made = _closerr(tmp_path, "operator", "create", "--name", "Priya Ops", "--email", "priya@closerr.example.in")
    assert made.returncode == 0, made.stderr
    api_key = made.stdout.strip()
    assert api_key.startswith("clr_") and len(made.stdout.splitlines()) == 1

    con = sqlite3.connect(tmp_path / "closerr.sqlite3")
    (role,) = con.execute("SELECT role FROM accounts WHERE email = 'priya@closerr.example.in'").fetchone()
    (actor, details) = con.execute("SELECT actor, details FROM audit_log WHERE action = 'account.register'").fetchone()
    con.close()
    assert role == "operator" and actor == "cli:operator" and json.loads(details) == {"role": "operator"}

    cfg = Settings(data_dir=tmp_path, retention_scheduler=False)
    async with AsyncTestClient(app=create_app(cfg), timeout=60) as c:
        headers = {"Authorization": f"Bearer {api_key}"}
        r = await c.post("/v1/dnd/import", content=b"9876543210,0\n", headers={**headers, **CSV})
        assert r.status_code == 200 and r.json()["scope"] == "registry", r.text
        r = await c.get("/v1/audit/verify", headers=headers)
        assert r.json()["ok"] is True and r.json()["scope"] == "platform"

    for args, field in (
        (("--name", "X", "--email", "not-an-email"), "--email"),
        (("--name", " ", "--email", "x@closerr.example.in"), "--name"),
        (("--name", "Again", "--email", "PRIYA@closerr.example.in"), "--email"),
    ):
        bad = _closerr(tmp_path, "operator", "create", *args)
        assert bad.returncode == 2, bad.stderr
        assert f"error: {field}" in bad.stderr and bad.stdout == ""
    assert _closerr(tmp_path, "operator", "create", "--name", "No mail").returncode == 2
