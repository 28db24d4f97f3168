"""GET /v1/credits and /v1/campaigns/{id}/dispatch through the real API; ``closerr credits add`` as a process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from litestar.testing import AsyncTestClient

from config.settings import Settings
from control_api.app import create_app
from control_api.dispatch import service
from control_api.dispatch.service import DispatchConfig
from tests.dispatch.conftest import open_db
from tests.dispatch.seed import ANY_HOUR, phone, seed


def closerr(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "closerr.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_credits_cli_and_api(database_url: str, tmp_path: Path) -> None:
    sd = await seed(database_url, tmp_path, [{"phone": phone(1)}, {"phone": phone(2)}], credits=0, start=False)
    app = create_app(Settings(data_dir=tmp_path, database_url=database_url, retention_scheduler=False))
    async with AsyncTestClient(app=app, timeout=60) as client:
        # With nothing to spend the campaign would sit paused: the start is refused, naming the balance.
        refused = await client.post(f"/v1/campaigns/{sd.campaign_id}/start", headers=sd.headers)
        assert refused.status_code == 409 and refused.json()["field"] == "balance", refused.text
        assert refused.json()["balance"] == 0 and "top up" in refused.json()["detail"]
    env = {"CLOSERR_DATABASE_URL": database_url, "CLOSERR_DATA_DIR": str(tmp_path)}
    added = closerr("credits", "add", sd.account_id, "1000", "--note", "invoice 42", env=env)
    assert added.returncode == 0, added.stderr
    assert "balance 1000" in added.stdout
    bad_amount = closerr("credits", "add", sd.account_id, "0", env=env)
    assert bad_amount.returncode == 2 and "AMOUNT" in bad_amount.stderr
    unknown = closerr("credits", "add", "no-such-account", "5", env=env)
    assert unknown.returncode == 2 and "ACCOUNT_ID" in unknown.stderr
    app = create_app(Settings(data_dir=tmp_path, database_url=database_url, retention_scheduler=False))
    async with AsyncTestClient(app=app, timeout=60) as client:
        started = await client.post(f"/v1/campaigns/{sd.campaign_id}/start", headers=sd.headers)
        assert started.status_code == 200, started.text
        assert started.json()["dispatch"] == {
            "status": "scheduled",
            "reason": None,
            "next_opening_at": None,
            "balance": 1000,
        }

    db = await open_db(database_url)
    await service.advance_campaigns(db)
    claimed = await service.claim(
        db, DispatchConfig(worker_id="w", hours=ANY_HOUR), sd.campaign_id, sd.account_id, slots=5
    )
    await db.dispose()
    assert len(claimed.jobs) == 2

    app = create_app(Settings(data_dir=tmp_path, database_url=database_url, retention_scheduler=False))
    async with AsyncTestClient(app=app, timeout=60) as client:
        r = await client.get("/v1/credits", headers=sd.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["balance"] == 1000 - 2 * 300 and body["held"] == 600
        assert [e["kind"] for e in body["entries"]] == ["reserve", "reserve", "topup"]
        assert body["entries"][2]["note"] == "invoice 42"
        page = (await client.get("/v1/credits?limit=1", headers=sd.headers)).json()
        older = (await client.get(f"/v1/credits?limit=5&cursor={page['next_cursor']}", headers=sd.headers)).json()
        assert len(page["entries"]) == 1 and len(older["entries"]) == 2 and older["next_cursor"] is None
        bad = await client.get("/v1/credits?cursor=abc", headers=sd.headers)
        assert bad.status_code == 422 and bad.json()["field"] == "cursor"
        assert (await client.get("/v1/credits")).status_code == 401
        status = (await client.get(f"/v1/campaigns/{sd.campaign_id}/dispatch", headers=sd.headers)).json()
        assert status["state"] == "running" and status["leads"] == {"dialing": 2} and status["calls_in_progress"] == 2
        missing = await client.get("/v1/campaigns/nope/dispatch", headers=sd.headers)
        assert missing.status_code == 404
