"""Accounts and rate limits under abuse: racing sign-ups with one address in several cases, sign-up floods, key
guessing, hammered expensive endpoints, and a limit shared by several API processes on one database.

The concurrent and per-address tests run ``closerr serve`` as a real process and talk to it over loopback sockets,
binding different source addresses (127.0.0.2, 127.0.0.3, ...) to play different clients.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from config.settings import Settings
from control_api.accounts.tables import Account
from control_api.app import create_app
from control_api.audit.tables import AuditEntry
from control_api.limits.limiter import Rule, Window, hit
from control_api.limits.tables import RateLimitWindow
from control_api.storage.db import Database, create_database, session_scope
from tests.control_api.helpers import register
from tests.security.conftest import Serve

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'closerr.sqlite3'}"
    server = request.getfixturevalue("postgres_server")
    return str(server.create_database("abuse"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'closerr.sqlite3'}"


def client_from(base: str, source: str) -> httpx.AsyncClient:
    """A client whose connections leave from ``source`` (any 127.0.0.0/8 address reaches the server)."""
    return httpx.AsyncClient(
        base_url=base, timeout=60, transport=httpx.AsyncHTTPTransport(local_address=source), trust_env=False
    )


async def clear_of_window_edge(window_s: int, margin_s: float) -> None:
    """Fixed windows restart on the clock's multiples of ``window_s``: start a counting test where the window it
    counts in cannot end before the test does."""
    left = window_s - time.time() % window_s
    if left < margin_s:
        await asyncio.sleep(left + 0.5)


def sign_up_body(email: str, name: str = "Race") -> dict[str, Any]:
    return {"name": name, "email": email, "billing": {"legal_name": f"{name} Pvt Ltd", "address": "Pune"}}


def case_variant(email: str, i: int) -> str:
    """The ``i``-th spelling of ``email`` in mixed case (bit j of i upper-cases letter j)."""
    return "".join(ch.upper() if (i >> j) & 1 else ch for j, ch in enumerate(email))


async def test_concurrent_mixed_case_signups_make_one_account_and_409s(serve: Serve, database_url: str) -> None:
    email = "race@example.in"
    async with serve(database_url, rate_limit_signups_per_hour="1000") as base, client_from(base, "127.0.0.1") as c:
        replies = await asyncio.gather(
            *(c.post("/v1/accounts", json=sign_up_body(case_variant(email, i + 1))) for i in range(20))
        )
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [201] + [409] * 19, [r.text for r in replies if r.status_code not in (201, 409)]
    for r in replies:
        if r.status_code == 409:
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["field"] == "email"
    db = create_database(database_url)
    try:
        async with db.sessions() as s:
            rows = await s.scalar(select(func.count()).where(func.lower(Account.email) == email))
            audited = await s.scalar(select(func.count()).where(AuditEntry.action == "account.register"))
    finally:
        await db.dispose()
    assert rows == 1
    assert audited == 1  # the losers' audit entries were rolled back with their inserts


async def test_signups_and_bad_keys_from_one_address_get_429_while_other_addresses_and_valid_keys_work(
    serve: Serve, sqlite_url: str
) -> None:
    await clear_of_window_edge(60, margin_s=25)
    limits = {"rate_limit_signups_per_hour": "3", "rate_limit_failed_auth_per_minute": "5"}
    async with (
        serve(sqlite_url, **limits) as base,
        client_from(base, "127.0.0.1") as a,
        client_from(base, "127.0.0.2") as b,
        client_from(base, "127.0.0.3") as other,
    ):
        # Sign-ups: three from one address, then 429 with the seconds left in the hour.
        keys = []
        for i in range(3):
            r = await b.post("/v1/accounts", json=sign_up_body(f"flood{i}@example.in"))
            assert r.status_code == 201, r.text
            keys.append(r.json()["api_key"])
        r = await b.post("/v1/accounts", json=sign_up_body("flood3@example.in"))
        assert r.status_code == 429, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"].endswith("/rate-limited")
        assert 1 <= int(r.headers["retry-after"]) <= 3600
        r = await other.post("/v1/accounts", json=sign_up_body("elsewhere@example.in"))
        assert r.status_code == 201, r.text
        valid = {"Authorization": f"Bearer {r.json()['api_key']}"}

        # Guessing keys: refused with 401 up to the limit, then 429 until the minute ends.
        bad = {"Authorization": "Bearer clr_abcdef012345_not-the-secret"}
        for _ in range(5):
            assert (await b.get("/v1/accounts/me", headers=bad)).status_code == 401
        r = await b.get("/v1/accounts/me", headers=bad)
        assert r.status_code == 429, r.text
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert r.json()["field"] == "Authorization"
        # A valid key works, from another address and from the throttled one alike.
        assert (await a.get("/v1/accounts/me", headers=valid)).status_code == 200
        assert (await b.get("/v1/accounts/me", headers=valid)).status_code == 200
        mine = {"Authorization": f"Bearer {keys[0]}"}
        assert (await b.get("/v1/accounts/me", headers=mine)).status_code == 200
        # Another address guessing is still told 401: the count is per address.
        assert (await a.get("/v1/accounts/me", headers=bad)).status_code == 401
        # The console's sign-in form is the same door: wrong keys there count, and the throttled address is
        # refused there too, while another address still gets the form's 401.
        assert (await _console_sign_in(b, "clr_abcdef012345_not-the-secret")).status_code == 429
        assert (await _console_sign_in(a, "clr_abcdef012345_not-the-secret")).status_code == 401
        for _ in range(4):
            await _console_sign_in(a, "clr_abcdef012345_not-the-secret")
        refused = await _console_sign_in(a, "clr_abcdef012345_not-the-secret")
        assert refused.status_code == 429 and "Too many invalid keys" in refused.text
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert (await _console_sign_in(a, keys[0])).status_code == 303  # a valid key still signs in


async def _console_sign_in(client: httpx.AsyncClient, api_key: str) -> httpx.Response:
    await client.get("/console/login")
    csrf = client.cookies.get("closerr_csrf") or ""
    return await client.post("/console/login", data={"api_key": api_key}, headers={"x-csrftoken": csrf})


async def test_expensive_endpoints_are_limited_per_key(database_url: str, tmp_path: Path) -> None:
    await clear_of_window_edge(60, margin_s=20)
    settings = Settings(data_dir=tmp_path, database_url=database_url, rate_limit_expensive_per_minute=2)
    async with AsyncTestClient(app=create_app(settings), timeout=60) as client:
        tenant = await register(client, "acme")
        other = await register(client, "globex")
        second_key = (await client.post("/v1/api-keys", json={"label": "second"}, headers=tenant.headers)).json()
        access = "/v1/subjects/+919812345678"
        first = [(await client.get(access, headers=tenant.headers)).status_code for _ in range(2)]
        assert 429 not in first
        r = await client.get(access, headers=tenant.headers)
        assert r.status_code == 429, r.text
        assert 1 <= int(r.headers["retry-after"]) <= 60
        # Every expensive route draws on the same allowance of that key.
        r = await client.post(
            "/v1/dnd/import?scope=account",
            content=b"9812345678,0\n",
            headers={**tenant.headers, "Content-Type": "text/csv"},
        )
        assert r.status_code == 429
        # Other keys, of this account or another, have their own.
        assert (await client.get(access, headers=other.headers)).status_code == first[0]
        own = {"Authorization": f"Bearer {second_key['api_key']}"}
        assert (await client.get(access, headers=own)).status_code == first[0]
        # Cheap routes are not counted.
        assert (await client.get("/v1/campaigns", headers=tenant.headers)).status_code == 200


async def test_two_api_processes_on_one_database_share_the_signup_limit(database_url: str, tmp_path: Path) -> None:
    await clear_of_window_edge(3600, margin_s=30)
    settings = Settings(data_dir=tmp_path, database_url=database_url, rate_limit_signups_per_hour=3)
    async with (
        AsyncTestClient(app=create_app(settings), timeout=60) as one,
        AsyncTestClient(app=create_app(settings), timeout=60) as two,
    ):
        replies = []
        for i, client in enumerate([one, two, one, two]):
            replies.append(await client.post("/v1/accounts", json=sign_up_body(f"shared{i}@example.in")))
    assert [r.status_code for r in replies] == [201, 201, 201, 429]
    # Benchmarks switch the limits off.
    unlimited = settings.model_copy(update={"rate_limits": False})
    async with AsyncTestClient(app=create_app(unlimited), timeout=60) as bench:
        r = await bench.post("/v1/accounts", json=sign_up_body("bench@example.in"))
    assert r.status_code == 201, r.text


async def test_windows_count_atomically_restart_on_the_clock_and_expired_ones_are_purged(database_url: str) -> None:
    db = create_database(database_url)
    await db.migrate()
    rule = Rule("signup", 3, 3600)
    t0 = 1_900_000_000.0  # 40 minutes into an hour
    try:
        async with session_scope(db) as s:
            first = await hit(s, rule, "198.51.100.7", now=t0)
        windows = await asyncio.gather(*(_hit_once(db, rule, t0 + 1) for _ in range(5)))
        assert first.hits == 1 and sorted(w.hits for w in windows) == [2, 3, 4, 5, 6]
        assert windows[0].retry_after(t0) == 3600 - int(t0 % 3600)
        async with session_scope(db) as s:
            later = await hit(s, rule, "198.51.100.7", now=t0 + 2 * 3600)
        assert later.hits == 1  # a new window
        async with db.sessions() as s:
            buckets = list(await s.scalars(select(RateLimitWindow.bucket)))
    finally:
        await db.dispose()
    assert buckets == [f"signup:198.51.100.7:{int((t0 + 2 * 3600) // 3600)}"]  # the expired window is gone


async def _hit_once(db: Database, rule: Rule, now: float) -> Window:
    async with session_scope(db) as s:
        return await hit(s, rule, "198.51.100.7", now=now)
