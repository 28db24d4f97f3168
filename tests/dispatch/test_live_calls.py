"""Live calls across workers: each worker publishes the progress of its calls on their lease rows, and
``GET /v1/calls?state=live`` and the console's Live page (in whatever process serves them) list every worker's
calls of the calling account, and no other account's. A lease its worker stopped heartbeating is not live; a call
leaves the list when it is settled.

The first test drives the real app with two workers' publishes on SQLite and PostgreSQL; the last ones run real
processes with the real models: ``closerr serve --no-worker`` and two ``closerr worker`` on one PostgreSQL, and
one ``closerr serve`` with its in-process worker on SQLite."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from config.settings import Settings
from control_api.calls.live_feed import LiveFeed, listen_dsn
from control_api.campaigns.tables import Campaign
from control_api.credits import ledger
from control_api.dispatch import service as dispatch
from control_api.dispatch.dispositions import Disposition
from control_api.dispatch.service import DialJob, DispatchConfig
from control_api.dispatch.settlement import CallResult
from control_api.dispatch.tables import DispatchLease
from control_api.dispatch.worker import Worker
from control_api.storage.db import Database, create_database, session_scope
from control_api.storage.types import utcnow
from engine.records import CallRecord, CallRequest, TranscriptTurn
from engine.records import Lead as EngineLead
from engine.simulator.run import free_port

# The API fixtures (both backends, two tenants, an operator) live with the control API tests.
from tests.control_api.conftest import *  # noqa: F403
from tests.control_api.helpers import Tenant, create_campaign, upload_csv
from tests.dispatch.seed import ALL_DAYS, ALWAYS_OPEN, ANY_HOUR, demo_script, simulated_worker
from tests.dispatch.workers import start_workers, stop
from tests.fixtures.log_leaks import leaks_in

Client = AsyncTestClient[Litestar]
LEADS = "name,phone\nAsha,9876500021\nRavi,9876500022\n"
GREETING = "Namaste, this is Priya from SunPeak Solar."
ANSWER = "Yes, go on."


def _config(worker_id: str) -> DispatchConfig:
    return DispatchConfig(worker_id=worker_id, lease_ttl_s=30, hours=ANY_HOUR)


def _worker(db: Database, database_url: str, tmp_path: Path, worker_id: str) -> Worker:
    return simulated_worker(db, Settings(data_dir=tmp_path, database_url=database_url, worker_id=worker_id))


async def _claim_one(db: Database, worker: Worker, campaign_id: str, account_id: str) -> DialJob:
    """The worker leases one lead, as its dispatch round does, and holds the call as running."""
    result = await dispatch.claim(db, worker.cfg, campaign_id, account_id, slots=1)
    assert len(result.jobs) == 1, result
    job = result.jobs[0]
    worker.active[job.call_id] = job
    return job


def _answer(worker: Worker, job: DialJob) -> CallRecord:
    """The call's media came up on the worker's engine and two lines were spoken."""
    request = CallRequest(
        call_id=job.call_id,
        lead=EngineLead(name=job.name, phone=job.phone),
        campaign_id=job.campaign_id,
        account_id=job.account_id,
    )
    record = CallRecord(call_id=job.call_id)
    record.transcript.append(TranscriptTurn("bot", GREETING, 0.0, 2.0))
    record.transcript.append(TranscriptTurn("lead", ANSWER, 2.5, 3.0))
    worker.engine.directory.started(request, record)
    return record


async def _live(client: Client, who: Tenant, query: str = "") -> dict[str, Any]:
    r = await client.get(f"/v1/calls?state=live{query}", headers=who.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _console_live(client: Client, who: Tenant, query: str = "") -> dict[str, Any]:
    await client.get("/console/login")
    csrf = client.cookies.get("closerr_csrf") or ""
    r = await client.post("/console/login", data={"api_key": who.api_key}, headers={"x-csrftoken": csrf})
    assert r.status_code in (200, 303), r.text
    r = await client.get(f"/console/live/calls.json{query}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _true(value: bool) -> bool:
    return value


async def test_live_calls_of_every_worker_are_listed_for_their_account_only(
    client: Client,
    tenant: Tenant,
    other_tenant: Tenant,
    operator: Tenant,
    db: Database,
    database_url: str,
    tmp_path: Path,
) -> None:
    campaign = await create_campaign(client, tenant, calling_window=ALWAYS_OPEN, days=ALL_DAYS)
    assert (await upload_csv(client, tenant, campaign["id"], LEADS)).json()["accepted"] == 2
    async with session_scope(db) as s:
        await ledger.top_up(s, tenant.account_id, 100_000)
    assert (await client.post(f"/v1/campaigns/{campaign['id']}/start", headers=tenant.headers)).status_code == 200
    await dispatch.advance_campaigns(db)
    w1, w2 = (_worker(db, database_url, tmp_path, name) for name in ("w1", "w2"))
    job1 = await _claim_one(db, w1, campaign["id"], tenant.account_id)
    job2 = await _claim_one(db, w2, campaign["id"], tenant.account_id)

    # Dialed, nothing published yet: both listed as ringing.
    body = await _live(client, tenant)
    assert {(c["id"], c["worker_id"], c["state"]) for c in body["items"]} == {
        (job1.call_id, "w1", "ringing"),
        (job2.call_id, "w2", "ringing"),
    }
    assert body["next_cursor"] is None

    # w1's call is answered and talking; w2's still rings. Each worker publishes its own.
    _answer(w1, job1)
    # On PostgreSQL a listening API process is woken by the publish of this account's calls, not another's.
    feed, listening = LiveFeed(), None
    dsn = listen_dsn(db)
    if dsn is not None:
        listening = asyncio.create_task(feed.listen(dsn))
        await _wait_for(lambda: _true(feed.listening), "the feed to listen", 60)
        woken = asyncio.create_task(feed.changed(tenant.account_id, timeout_s=120))
        not_woken = asyncio.create_task(feed.changed(other_tenant.account_id, timeout_s=120))
        await asyncio.sleep(0)  # both are waiting before anything is published
    try:
        await w1.publish_progress()
        await w2.publish_progress()
        if listening is not None:
            assert await woken is True
            assert not not_woken.done()
            not_woken.cancel()
    finally:
        if listening is not None:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)
    body = await _live(client, tenant)
    calls = {c["id"]: c for c in body["items"]}
    talking = calls[job1.call_id]
    assert talking["state"] == "talking" and talking["turns"] == 2 and talking["worker_id"] == "w1"
    assert talking["last_line"] == {"role": "lead", "text": ANSWER}
    assert talking["campaign_id"] == campaign["id"] and talking["lead_id"] == job1.lead_id
    assert calls[job2.call_id]["state"] == "ringing" and calls[job2.call_id]["last_line"] is None
    # No phone number and no name in the API's answer.
    for secret in ("9876500021", "9876500022", "Asha", "Ravi"):
        assert secret not in json.dumps(body)

    # Pages of one.
    first = await _live(client, tenant, "&limit=1")
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = await _live(client, tenant, f"&limit=1&cursor={first['next_cursor']}")
    assert {first["items"][0]["id"], second["items"][0]["id"]} == {job1.call_id, job2.call_id}
    assert second["next_cursor"] is None

    # Another tenant sees none of them; an operator's key is refused; the state is named.
    assert (await _live(client, other_tenant))["items"] == []
    r = await client.get("/v1/calls?state=live", headers=operator.headers)
    assert r.status_code == 403 and r.json()["required_role"] == "client", r.text
    for query in ("", "?state=ended"):
        r = await client.get(f"/v1/calls{query}", headers=tenant.headers)
        assert r.status_code == 422 and r.json()["field"] == "state", r.text
    r = await client.get("/v1/calls?state=live&cursor=%21%21", headers=tenant.headers)
    assert r.status_code == 422 and r.json()["field"] == "cursor", r.text

    # The console's Live page shows both workers' calls. On PostgreSQL the app listens, so the page's polls are
    # held until a change (``prompt``); on SQLite the page polls every second.
    views = {c["call_id"]: c for c in (await _console_live(client, tenant))["calls"]}
    assert views[job1.call_id]["worker_id"] == "w1" and views[job2.call_id]["worker_id"] == "w2"
    assert views[job1.call_id]["current_turn"] == {"role": "lead", "text": ANSWER}
    assert views[job1.call_id]["campaign_name"] == "Solar Pune"
    if dsn is None:
        assert (await _console_live(client, tenant, "?wait=true"))["prompt"] is False
    else:

        async def prompt() -> bool:
            body = await _console_live(client, tenant, "?wait=true")
            assert {c["call_id"] for c in body["calls"]} == {job1.call_id, job2.call_id}
            return bool(body["prompt"])

        await _wait_for(prompt, "the app to listen", 60)
    client.cookies.clear()
    assert (await _console_live(client, other_tenant))["calls"] == []

    # w2 died: once its lease is past its expiry, its call is no longer live (the reaper settles it later).
    async with session_scope(db) as s:
        await s.execute(
            update(DispatchLease)
            .where(DispatchLease.call_id == job2.call_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert [c["id"] for c in (await _live(client, tenant))["items"]] == [job1.call_id]

    # w1's call ends: settled, it leaves the list.
    closed = await dispatch.finish(
        db, w1.cfg, job1.call_id, job1.lead_id, job1.account_id, CallResult(Disposition.NO_ANSWER)
    )
    assert closed is not None
    assert (await _live(client, tenant))["items"] == []


async def test_a_worker_publishes_only_what_changed_and_never_another_workers_lease(
    client: Client, tenant: Tenant, db: Database, database_url: str, tmp_path: Path
) -> None:
    campaign = await create_campaign(client, tenant, calling_window=ALWAYS_OPEN, days=ALL_DAYS)
    assert (await upload_csv(client, tenant, campaign["id"], LEADS)).json()["accepted"] == 2
    async with session_scope(db) as s:
        await ledger.top_up(s, tenant.account_id, 100_000)
    assert (await client.post(f"/v1/campaigns/{campaign['id']}/start", headers=tenant.headers)).status_code == 200
    await dispatch.advance_campaigns(db)
    w1 = _worker(db, database_url, tmp_path, "w1")
    job = await _claim_one(db, w1, campaign["id"], tenant.account_id)
    record = _answer(w1, job)
    await w1.publish_progress()

    async def published() -> tuple[Any, ...]:
        async with db.sessions() as s:
            lease = await s.scalar(select(DispatchLease).where(DispatchLease.call_id == job.call_id))
            assert lease is not None
            return (lease.live_state, lease.live_turns, lease.live_text, lease.live_at)

    state, turns, text, at = await published()
    assert (state, turns, text) == ("talking", 2, ANSWER)
    await w1.publish_progress()  # nothing changed: nothing written
    assert (await published())[3] == at
    # Another worker took the lease over (the first was reaped): the first one's publish leaves it alone.
    async with session_scope(db) as s:
        await s.execute(update(DispatchLease).where(DispatchLease.call_id == job.call_id).values(worker_id="w9"))
    record.transcript.append(TranscriptTurn("bot", "x" * 1000, 3.5, 9.0))
    await w1.publish_progress()
    assert (await published())[:3] == ("talking", 2, ANSWER)
    async with session_scope(db) as s:
        await s.execute(update(DispatchLease).where(DispatchLease.call_id == job.call_id).values(worker_id="w1"))
    record.transcript.append(TranscriptTurn("lead", "y" * 1000, 9.5, 12.0))
    await w1.publish_progress()
    state, turns, text, _ = await published()
    assert (state, turns) == ("talking", 4) and text == "y" * 280  # a long line is cut


# -- real processes with the real models ------------------------------------------------------------------------


async def _wait_for(check: Callable[[], Any], what: str, timeout_s: float = 300) -> Any:
    """Poll ``check`` (async, answers a truthy value when done) until it holds; fail with ``what`` after a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        got = await check()
        if got:
            return got
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def _tenant_with_campaign(
    api: httpx.AsyncClient, database_url: str, name: str, leads: int, start: bool = True
) -> tuple[dict[str, str], str]:
    r = await api.post(
        "/v1/accounts",
        json={
            "name": f"{name} Pvt Ltd",
            "email": f"ops@{name}.example.in",
            "billing": {"legal_name": name, "address": "Pune"},
        },
    )
    assert r.status_code == 201, r.text
    account_id, headers = r.json()["account_id"], {"Authorization": f"Bearer {r.json()['api_key']}"}
    if not leads:
        return headers, ""
    body = {"name": "Live", "script": demo_script(), "calling_window": ALWAYS_OPEN, "days": ALL_DAYS}
    body["retry"] = {"max_attempts": 1, "spacing_minutes": [], "dispositions": []}
    r = await api.post("/v1/campaigns", json=body, headers=headers)
    assert r.status_code == 201, r.text
    campaign_id = r.json()["id"]
    rows = [{"phone": f"+9198200000{i:02d}", "metadata": {"persona": "qualified"}} for i in range(leads)]
    r = await api.post(
        f"/v1/campaigns/{campaign_id}/leads?no_minors_attested=true&consent_source=website%20form"
        "&consent_purpose=solar%20quote",
        content="".join(json.dumps(row) + "\n" for row in rows).encode(),
        headers={**headers, "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 200, r.text
    db = create_database(database_url)
    try:
        async with session_scope(db) as s:
            await ledger.top_up(s, account_id, 100_000)
    finally:
        await db.dispose()
    if start:
        assert (await api.post(f"/v1/campaigns/{campaign_id}/start", headers=headers)).status_code == 200
    return headers, campaign_id


async def _campaign_state(database_url: str, campaign_id: str) -> str:
    db = create_database(database_url)
    try:
        async with db.sessions() as s:
            return str(await s.scalar(select(Campaign.state).where(Campaign.id == campaign_id)))
    finally:
        await db.dispose()


@asynccontextmanager
async def _serve(database_url: str, tmp_path: Path, env: dict[str, str], *args: str) -> AsyncIterator[str]:
    port = free_port()
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "closerr.cli", "serve", "--port", str(port), "--data-dir", str(tmp_path / "d"), *args],
        env={**os.environ, "HF_HUB_OFFLINE": "1", "CLOSERR_DATABASE_URL": database_url, **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as c:

            async def healthy() -> bool:
                assert proc.poll() is None, log.read_text()
                try:
                    return (await c.get(f"{base}/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await _wait_for(healthy, "closerr serve to come up", 240)
        yield base
    finally:
        stop(proc)
    output = log.read_text()
    assert "Traceback" not in output, output
    assert not leaks_in(output), leaks_in(output)[:5]


FAST = {
    "CLOSERR_SIM_RING_S": "0.2",
    "CLOSERR_DISPATCH_POLL_S": "0.2",
    "CLOSERR_HEARTBEAT_S": "1",
    "CLOSERR_WARM_PHONE_CACHE": "false",
}


async def _watch_live_calls(base: str, database_url: str, leads: int) -> set[str]:
    """One tenant's campaign of ``leads`` real calls through ``base``: while they run, every one is listed live,
    talking, and another tenant sees none; when the campaign is done, none is. Answers the worker ids seen."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as api:
        headers, campaign_id = await _tenant_with_campaign(api, database_url, "livecalls", leads)
        other, _ = await _tenant_with_campaign(api, database_url, "othertenant", 0)

        async def all_talking() -> list[dict[str, Any]] | None:
            r = await api.get("/v1/calls?state=live", headers=headers)
            assert r.status_code == 200, r.text
            items: list[dict[str, Any]] = r.json()["items"]
            done = len(items) == leads and all(c["state"] == "talking" and c["last_line"] for c in items)
            return items if done else None

        items = await _wait_for(all_talking, f"{leads} calls talking")
        assert all(c["campaign_id"] == campaign_id for c in items)
        r = await api.get("/v1/calls?state=live", headers=other)
        assert r.status_code == 200 and r.json()["items"] == [], r.text

        async def completed() -> bool:
            return await _campaign_state(database_url, campaign_id) == "completed"

        await _wait_for(completed, "the campaign to complete")
        r = await api.get("/v1/calls?state=live", headers=headers)
        assert r.status_code == 200 and r.json()["items"] == [], r.text
        return {str(c["worker_id"]) for c in items}


@pytest.mark.postgres
async def test_an_api_without_a_worker_lists_the_live_calls_of_two_worker_processes(
    postgres_server: Any, tmp_path: Path
) -> None:
    url = str(postgres_server.create_database("live"))
    env = {**FAST, "CLOSERR_WORKER_MAX_CALLS": "1", "CLOSERR_DATA_DIR": str(tmp_path / "w")}
    workers = start_workers(["w1", "w2"], {**env, "CLOSERR_DATABASE_URL": url}, tmp_path)
    try:
        async with _serve(url, tmp_path, env, "--no-worker") as base:
            # One call at a time per worker: the two calls run on the two workers.
            assert await _watch_live_calls(base, url, 2) == {"w1", "w2"}
    finally:
        for process, _ in workers:
            stop(process)
    for name in ("w1", "w2"):
        output = (tmp_path / f"{name}.log").read_text()
        assert "publishing call progress failed" not in output, output
        assert not leaks_in(output), leaks_in(output)[:5]


async def test_one_server_with_its_in_process_worker_lists_its_live_call_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'closerr.sqlite3'}"
    async with _serve(url, tmp_path, {**FAST, "CLOSERR_WORKER_ID": "solo"}) as base:
        assert await _watch_live_calls(base, url, 1) == {"solo"}
