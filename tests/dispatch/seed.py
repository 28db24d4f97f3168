"""Set up a tenant, a campaign and its leads through the real control API (in-process ASGI client), then top up
credits through the ledger, as an operator would with ``closerr credits add``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from litestar.testing import AsyncTestClient

from config.settings import Settings
from control_api.app import create_app
from control_api.campaigns.calling_hours import CallingHours
from control_api.credits import ledger
from control_api.dispatch.worker import Worker
from control_api.origination.simulated import SimulatedCarrier
from control_api.storage.db import Database, create_database, session_scope
from engine.facade import Engine

ATTEST = "no_minors_attested=true&consent_source=website%20form&consent_purpose=solar%20quote"
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ALWAYS_OPEN = {"start": "00:00", "end": "23:59"}
# The legal hours of the suite's deployment (tests/conftest.py widens them the same way for Settings).
ANY_HOUR = CallingHours("00:00", "23:59")
LOOPBACK = "127.0.0.0/8"


def demo_script() -> dict[str, Any]:
    text = resources.files("engine.agent.scripts").joinpath("demo_solar.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def phone(i: int) -> str:
    return f"+9198{i:08d}"


async def _register(client: AsyncTestClient[Any], email: str) -> dict[str, Any]:
    r = await client.post(
        "/v1/accounts",
        json={
            "name": "Acme Pvt Ltd",
            "email": email,
            "billing": {"legal_name": "Acme Private Limited", "address": "MG Road, Pune", "country": "IN"},
        },
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


@dataclass
class Seeded:
    account_id: str
    api_key: str
    campaign_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def seed(
    database_url: str,
    data_dir: Path,
    leads: list[dict[str, Any]],
    *,
    credits: int = 1_000_000,
    start: bool = True,
    email: str = "ops@acme.example.in",
    api_key: str | None = None,
    **campaign: Any,
) -> Seeded:
    """A new account (or the one of ``api_key``), a campaign with ``leads`` (NDJSON rows), credits, started."""
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        retention_scheduler=False,
        webhook_allowed_networks=LOOPBACK,  # the tests' receivers listen on 127.0.0.1
    )
    app = create_app(settings)
    async with AsyncTestClient(app=app, timeout=60) as client:
        if api_key is not None:
            r = await client.get("/v1/accounts/me", headers={"Authorization": f"Bearer {api_key}"})
            assert r.status_code == 200, r.text
            account = {"account_id": r.json()["account_id"], "api_key": api_key}
        else:
            account = await _register(client, email)
        headers = {"Authorization": f"Bearer {account['api_key']}"}
        body: dict[str, Any] = {
            "name": "Solar Pune",
            "script": demo_script(),
            "calling_window": ALWAYS_OPEN,
            "days": ALL_DAYS,
            **campaign,
        }
        r = await client.post("/v1/campaigns", json=body, headers=headers)
        assert r.status_code == 201, r.text
        campaign_id = r.json()["id"]
        ndjson = "\n".join(json.dumps(lead) for lead in leads) + "\n"
        r = await client.post(
            f"/v1/campaigns/{campaign_id}/leads?{ATTEST}",
            content=ndjson.encode(),
            headers={**headers, "Content-Type": "application/x-ndjson"},
        )
        assert r.status_code in (200, 201), r.text
        assert r.json()["accepted"] == len(leads), r.text
        if credits:
            # The test client runs the app on its own loop: the top-up uses an engine of this loop.
            db = create_database(database_url)
            try:
                async with session_scope(db) as s:
                    await ledger.top_up(s, account["account_id"], credits)
            finally:
                await db.dispose()
        if start:
            r = await client.post(f"/v1/campaigns/{campaign_id}/start", headers=headers)
            assert r.status_code == 200, r.text
    return Seeded(account_id=account["account_id"], api_key=account["api_key"], campaign_id=campaign_id)


def simulated_worker(db: Database, settings: Settings) -> Worker:
    """A worker on the simulated carrier whose media URL nothing answers (its calls end as the simulator says)."""
    engine = Engine()
    return Worker(
        db=db,
        settings=settings,
        carrier=SimulatedCarrier(settings, engine),
        media_base_url="ws://127.0.0.1:9",
        engine=engine,
    )
