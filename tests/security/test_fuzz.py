"""A bounded fuzz of the whole API as a real ``closerr serve`` process sees it, with an operator and two client
keys: no input answers 5xx, every error is problem details, and nothing one tenant sends shows another tenant's
data (its account, campaign, lead names or numbers)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from control_api.operator.service import create_operator
from control_api.storage.db import Database, session_scope
from tests.dispatch.seed import ATTEST, demo_script
from tests.fuzzing import fuzz
from tests.security.conftest import Serve

EXAMPLES_PER_OPERATION = 5
OTHER_NAME = "Zubin Kothavala"
OTHER_PHONE = "+919811122233"


async def _client(api: httpx.AsyncClient, name: str, lead: dict[str, Any]) -> dict[str, str]:
    r = await api.post(
        "/v1/accounts",
        json={
            "name": f"{name} Pvt Ltd",
            "email": f"ops@{name}.example.in",
            "billing": {"legal_name": name, "address": "Pune"},
        },
    )
    assert r.status_code == 201, r.text
    account = r.json()
    headers = {"Authorization": f"Bearer {account['api_key']}"}
    r = await api.post(
        "/v1/campaigns", json={"name": f"{name} secret campaign", "script": demo_script()}, headers=headers
    )
    assert r.status_code == 201, r.text
    campaign_id = r.json()["id"]
    r = await api.post(
        f"/v1/campaigns/{campaign_id}/leads?{ATTEST}",
        content=(json.dumps(lead) + "\n").encode(),
        headers={**headers, "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 200, r.text
    return {"key": account["api_key"], "account_id": account["account_id"], "campaign_id": campaign_id}


async def test_no_5xx_and_no_other_tenants_data_for_an_operator_and_two_clients(
    serve: Serve,
    database_url: str,
    db: Database,
    tmp_path: Path,
) -> None:
    async with session_scope(db) as s:
        operator = await create_operator(s, "Platform Ops", "ops@closerr.example.in")
    async with serve(database_url, rate_limits="false") as base, httpx.AsyncClient(base_url=base, timeout=60) as api:
        acme = await _client(api, "acme", {"phone": "+919800000001", "name": "Asha Rao"})
        globex = await _client(api, "globex", {"phone": OTHER_PHONE, "name": OTHER_NAME})
        schema_doc = (await api.get("/schema/openapi.json")).json()
        secrets_of_globex = (OTHER_NAME, OTHER_PHONE, OTHER_PHONE[3:], globex["account_id"], globex["campaign_id"])
        callers = {
            "client": (acme["key"], secrets_of_globex),
            "operator": (operator.api_key, secrets_of_globex),
            "other client": (globex["key"], (acme["account_id"], acme["campaign_id"], "Asha Rao", "9800000001")),
        }
        for who, (key, forbidden) in callers.items():
            operations, failures = await asyncio.to_thread(
                fuzz,
                base,
                schema_doc,
                {"Authorization": f"Bearer {key}"},
                examples=EXAMPLES_PER_OPERATION,
                forbidden=forbidden,
            )
            assert operations >= 30, operations
            if failures:
                pytest.fail(f"as the {who}:\n" + "\n".join(failures[:20]))
        # The fuzz ran against live data: the other tenant's lead is still there, untouched.
        leads = (
            await api.get(
                f"/v1/campaigns/{globex['campaign_id']}/leads", headers={"Authorization": f"Bearer {globex['key']}"}
            )
        ).json()
        assert [lead["name"] for lead in leads["items"]] == [OTHER_NAME]
