"""SIGTERM during live calls, on a real ``closerr serve`` process with PostgreSQL and the real speech models: the
server stops leasing, lets the calls in progress finish (their media streams stay open), and only then exits; calls
still running when the drain time is up end as ``error``, are not billed and are retried once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from control_api.calls.tables import Call
from control_api.credits import ledger
from control_api.credits.tables import CreditEntry
from control_api.leads.tables import Lead
from control_api.storage.db import create_database, session_scope
from tests.dispatch.seed import ALL_DAYS, ALWAYS_OPEN, ATTEST, demo_script
from tests.fixtures.log_leaks import leaks_in

CREDITS = 100_000


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def serve(pg_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Server]:
    port = _free_port()
    env = {
        **os.environ,
        "CLOSERR_DATABASE_URL": pg_url,
        "CLOSERR_WORKER_DRAIN_S": str(request.param),
        "CLOSERR_SIM_RING_S": "0.1",
        "CLOSERR_DISPATCH_POLL_S": "0.2",
        "CLOSERR_AUDIT_HMAC_KEY": "graceful-shutdown-test-key-0123456789abcdef",
        "CLOSERR_WARM_PHONE_CACHE": "false",
        "HF_HUB_OFFLINE": "1",
    }
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "closerr.cli", "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as c:
            for _ in range(600):
                assert proc.poll() is None, log.read_text()
                try:
                    if (await c.get(f"{base}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        yield Server(proc, base, log)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert not leaks_in(log.read_text()), leaks_in(log.read_text())[:5]  # two real calls: no number, no name


async def _two_live_calls(server: Server, pg_url: str) -> str:
    """A campaign of two leads whose simulated personas talk for a while; answers once both calls are live."""
    async with httpx.AsyncClient(base_url=server.base, timeout=60) as api:
        r = await api.post(
            "/v1/accounts",
            json={
                "name": "Drain Pvt Ltd",
                "email": "drain@example.in",
                "billing": {"legal_name": "Drain", "address": "Pune"},
            },
        )
        assert r.status_code == 201, r.text
        account_id, headers = r.json()["account_id"], {"Authorization": f"Bearer {r.json()['api_key']}"}
        body = {"name": "Drain", "script": demo_script(), "calling_window": ALWAYS_OPEN, "days": ALL_DAYS}
        body["retry"] = {"max_attempts": 1, "spacing_minutes": [], "dispositions": []}
        r = await api.post("/v1/campaigns", json=body, headers=headers)
        assert r.status_code == 201, r.text
        campaign_id = r.json()["id"]
        leads = [{"phone": f"+9198100000{i:02d}", "metadata": {"persona": "qualified"}} for i in range(2)]
        r = await api.post(
            f"/v1/campaigns/{campaign_id}/leads?{ATTEST}",
            content="".join(json.dumps(lead) + "\n" for lead in leads).encode(),
            headers={**headers, "Content-Type": "application/x-ndjson"},
        )
        assert r.status_code == 200, r.text
        db = create_database(pg_url)
        try:
            async with session_scope(db) as s:
                await ledger.top_up(s, account_id, CREDITS)
        finally:
            await db.dispose()
        assert (await api.post(f"/v1/campaigns/{campaign_id}/start", headers=headers)).status_code == 200
        for _ in range(900):
            status = (await api.get(f"/v1/campaigns/{campaign_id}/dispatch", headers=headers)).json()
            if status["calls_in_progress"] == 2:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the two calls never ran together: {status}")
        # Both are answered and talking: the simulated leads' media streams are open.
        await asyncio.sleep(3.0)
    return campaign_id


async def _calls_and_leads(pg_url: str, campaign_id: str) -> tuple[list[Call], list[Lead], list[CreditEntry]]:
    db = create_database(pg_url)
    try:
        async with db.sessions() as s:
            calls = list((await s.scalars(select(Call).where(Call.campaign_id == campaign_id))).all())
            leads = list((await s.scalars(select(Lead).where(Lead.campaign_id == campaign_id))).all())
            entries = list((await s.scalars(select(CreditEntry))).all())
        return calls, leads, entries
    finally:
        await db.dispose()


async def _exit_code(proc: subprocess.Popen[bytes], within_s: float) -> int:
    for _ in range(int(within_s * 10)):
        if proc.poll() is not None:
            return proc.returncode
        await asyncio.sleep(0.1)
    raise AssertionError("the server did not exit")


@pytest.mark.parametrize("serve", [120], indirect=True)
async def test_sigterm_lets_live_calls_finish_before_exiting(serve: Server, pg_url: str) -> None:
    campaign_id = await _two_live_calls(serve, pg_url)
    serve.proc.send_signal(signal.SIGTERM)
    await asyncio.sleep(1.0)
    assert serve.proc.poll() is None  # draining, not gone
    await _exit_code(serve.proc, within_s=120)
    calls, leads, _ = await _calls_and_leads(pg_url, campaign_id)
    # The leads heard the whole conversation: qualified, not cut off as hung_up or error.
    assert sorted((c.status, c.outcome) for c in calls) == [("completed", "qualified")] * 2, serve.log.read_text()
    assert sorted(lead.status for lead in leads) == ["completed", "completed"]
    assert "draining" in serve.log.read_text()


@pytest.mark.parametrize("serve", [1], indirect=True)
async def test_calls_beyond_the_drain_time_end_as_errors_not_billed_and_retried(serve: Server, pg_url: str) -> None:
    campaign_id = await _two_live_calls(serve, pg_url)
    serve.proc.send_signal(signal.SIGTERM)
    await _exit_code(serve.proc, within_s=60)
    calls, leads, entries = await _calls_and_leads(pg_url, campaign_id)
    assert sorted((c.status, c.error) for c in calls) == [("error", "worker stopped")] * 2, serve.log.read_text()
    assert sorted(lead.status for lead in leads) == ["retry", "retry"]  # an error is tried once more
    ids = {c.id for c in calls}
    assert sum(e.amount for e in entries if e.kind == "charge" and e.call_id in ids) == 0  # not billed
    assert sum(e.amount for e in entries) == CREDITS  # every hold released
