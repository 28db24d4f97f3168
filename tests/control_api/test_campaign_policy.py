"""Who answers a campaign's leads: ``policy: script | llm`` on the campaign, the LLM endpoint an operator assigns to
an account (a named profile of the deployment's ``CLOSERR_LLM_PROFILES``), and both reaching the call the
dispatcher leases, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from config.settings import Settings
from control_api.audit.tables import AuditEntry
from control_api.dispatch import service as dispatch
from control_api.dispatch.service import DispatchConfig
from control_api.storage.db import Database
from tests.control_api.helpers import Tenant, create_campaign, fund, upload_csv
from tests.dispatch.seed import ALL_DAYS, ALWAYS_OPEN, ANY_HOUR

Client = AsyncTestClient[Litestar]
PROFILES = {"sarvam": {"base_url": "https://llm.example.in/v1", "model": "qualifier-hi"}}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {"data_dir": tmp_path, "database_url": database_url, "llm_profiles": PROFILES},
    )


async def test_a_campaign_is_answered_by_the_script_unless_it_asks_for_the_llm(client: Client, tenant: Tenant) -> None:
    assert (await create_campaign(client, tenant))["policy"] == "script"
    llm = await create_campaign(client, tenant, policy="llm")
    assert llm["policy"] == "llm"
    got = await client.get(f"/v1/campaigns/{llm['id']}", headers=tenant.headers)
    assert got.json()["policy"] == "llm"

    r = await client.post(
        "/v1/campaigns", json={"name": "x", "script": llm["script"], "policy": "gpt"}, headers=tenant.headers
    )
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "policy"


async def test_the_policy_of_a_running_campaign_does_not_change_under_its_calls(
    client: Client, tenant: Tenant, db: Database
) -> None:
    campaign = await create_campaign(client, tenant, calling_window=ALWAYS_OPEN, days=ALL_DAYS)
    assert (await upload_csv(client, tenant, campaign["id"], "name,phone\nAsha,9876500021\n")).status_code == 200
    await fund(db, tenant)
    url = f"/v1/campaigns/{campaign['id']}"
    assert (await client.post(f"{url}/start", headers=tenant.headers)).status_code == 200
    await dispatch.advance_campaigns(db)  # the dispatcher's round: scheduled -> running inside the window

    assert (await client.get(url, headers=tenant.headers)).json()["state"] == "running"
    r = await client.patch(url, json={"policy": "llm"}, headers=tenant.headers)
    assert r.status_code == 409, r.text
    assert r.json()["field"] == "policy"
    # Naming the policy it already has is no change.
    assert (await client.patch(url, json={"policy": "script"}, headers=tenant.headers)).status_code == 200

    assert (await client.post(f"{url}/pause", headers=tenant.headers)).status_code == 200
    r = await client.patch(url, json={"policy": "llm"}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    assert r.json()["policy"] == "llm"


async def test_only_an_operator_assigns_an_llm_profile_and_only_a_configured_one(
    client: Client, tenant: Tenant, other_tenant: Tenant, operator: Tenant, db: Database
) -> None:
    url = f"/v1/operator/accounts/{tenant.account_id}/llm"
    for caller in (tenant, other_tenant):
        r = await client.put(url, json={"profile": "sarvam"}, headers=caller.headers)
        assert r.status_code == 403, r.text

    r = await client.put(url, json={"profile": "openai"}, headers=operator.headers)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "profile" and "sarvam" in r.json()["detail"]

    r = await client.put(url, json={"profile": "sarvam"}, headers=operator.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"account_id": tenant.account_id, "profile": "sarvam"}

    r = await client.put(
        f"/v1/operator/accounts/{operator.account_id}/llm", json={"profile": "sarvam"}, headers=operator.headers
    )
    assert r.status_code == 409, r.text
    r = await client.put("/v1/operator/accounts/no-such-account/llm", json={"profile": None}, headers=operator.headers)
    assert r.status_code == 404, r.text

    async with db.sessions() as s:
        entries = (await s.execute(select(AuditEntry).where(AuditEntry.action == "account.llm_profile"))).scalars()
        assigned = [(e.tenant_id, json.loads(e.details)) for e in entries]
    assert assigned == [(tenant.account_id, {"profile": "sarvam"})]

    r = await client.put(url, json={"profile": None}, headers=operator.headers)
    assert r.status_code == 200 and r.json()["profile"] is None


async def test_the_leased_call_carries_the_campaign_policy_and_the_account_profile(
    client: Client, tenant: Tenant, operator: Tenant, db: Database
) -> None:
    r = await client.put(
        f"/v1/operator/accounts/{tenant.account_id}/llm", json={"profile": "sarvam"}, headers=operator.headers
    )
    assert r.status_code == 200, r.text
    await fund(db, tenant)
    jobs = {}
    for policy, phone in (("llm", "9876500031"), ("script", "9876500032")):
        campaign = await create_campaign(client, tenant, policy=policy, calling_window=ALWAYS_OPEN, days=ALL_DAYS)
        assert (await upload_csv(client, tenant, campaign["id"], f"name,phone\nAsha,{phone}\n")).status_code == 200
        assert (await client.post(f"/v1/campaigns/{campaign['id']}/start", headers=tenant.headers)).status_code == 200
        await dispatch.advance_campaigns(db)
        claimed = await dispatch.claim(
            db, DispatchConfig(worker_id="w", hours=ANY_HOUR), campaign["id"], tenant.account_id, slots=1
        )
        assert len(claimed.jobs) == 1, claimed
        jobs[policy] = claimed.jobs[0]

    assert (jobs["llm"].policy, jobs["llm"].llm_profile) == ("llm", "sarvam")
    # A script campaign sends nothing to any model, whatever its account was assigned.
    assert (jobs["script"].policy, jobs["script"].llm_profile) == ("script", None)
