"""Small helpers shared by the control API tests."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml
from litestar import Litestar
from litestar.testing import AsyncTestClient

from control_api.credits import ledger
from control_api.storage.db import Database, session_scope


@dataclass
class Tenant:
    account_id: str
    api_key: str
    key_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def register(client: AsyncTestClient[Litestar], name: str) -> Tenant:
    r = await client.post(
        "/v1/accounts",
        json={
            "name": f"{name} Pvt Ltd",
            "email": f"ops@{name}.example.in",
            "billing": {"legal_name": f"{name} Private Limited", "address": "MG Road, Pune", "country": "IN"},
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    return Tenant(account_id=body["account_id"], api_key=body["api_key"], key_id=body["api_key_id"])


def demo_script(**overrides: Any) -> dict[str, Any]:
    text = resources.files("engine.agent.scripts").joinpath("demo_solar.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    data.update(overrides)
    return data


async def create_campaign(client: AsyncTestClient[Litestar], tenant: Tenant, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Solar Pune", "script": demo_script()}
    body.update(fields)
    r = await client.post("/v1/campaigns", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


ATTEST = "no_minors_attested=true&consent_source=website%20form&consent_purpose=solar%20quote"


async def upload_csv(
    client: AsyncTestClient[Litestar], tenant: Tenant, campaign_id: str, body: str, query: str = ATTEST
) -> Any:
    return await client.post(
        f"/v1/campaigns/{campaign_id}/leads?{query}",
        content=body.encode(),
        headers={**tenant.headers, "Content-Type": "text/csv"},
    )


async def fund(db: Database, tenant: Tenant, credits: int = 100_000) -> None:
    """Credits for the account, as ``closerr credits add`` gives them: starting a campaign needs a balance."""
    async with session_scope(db) as s:
        await ledger.top_up(s, tenant.account_id, credits)
