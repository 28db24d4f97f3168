"""Webhooks cannot be aimed at the platform's own network, and each tenant's deliveries are signed with its own
secret: refused URLs at campaign save, a name re-pointed at loopback before delivery, per-account signatures and
their rotation. Deliveries go to a real HTTP receiver on 127.0.0.1; only DNS answers are played by the test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from config.settings import Settings
from control_api.accounts.tables import Account
from control_api.app import create_app
from control_api.campaigns.tables import Campaign
from control_api.storage.db import Database, create_database, session_scope
from control_api.storage.types import utcnow
from control_api.webhooks.destination import legacy_ipv4, parse_networks
from control_api.webhooks.outbox import Deliverer, enqueue
from control_api.webhooks.signing import HEADER, verify
from control_api.webhooks.tables import WebhookDelivery
from tests.control_api.helpers import Tenant, demo_script, register
from tests.dispatch.fake_carrier import FakeCarrier

LOOPBACK = "127.0.0.0/8"

REFUSED = [
    "http://127.0.0.1/hook",
    "http://localhost:8000/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://2130706433/hook",
    "http://0x7f.1/hook",
    "http://127.1/hook",
    "http://0177.0.0.1/hook",
    "http://[::ffff:169.254.169.254]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::127.0.0.1]/hook",
    "http://[64:ff9b::a9fe:a9fe]/hook",
    "http://[2002:7f00:1::]/hook",
    "http://10.1.2.3/hook",
    "http://192.168.1.10/hook",
    "http://172.16.0.1/hook",
    "http://100.64.0.1/hook",
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://224.0.0.1/hook",
    "http://0.0.0.0/hook",
    "http://[::]/hook",
    "http://240.0.0.1/hook",
    "http://user:pass@93.184.216.34/hook",
]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'closerr.sqlite3'}"


def _settings(url: str, tmp_path: Path, allowed: str = "") -> Settings:
    return Settings(data_dir=tmp_path, database_url=url, webhook_allowed_networks=allowed, retention_scheduler=False)


@pytest.fixture
async def client(sqlite_url: str, tmp_path: Path) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(_settings(sqlite_url, tmp_path)), timeout=60) as c:
        yield c


@pytest.fixture
def receiver() -> Iterator[FakeCarrier]:
    fake = FakeCarrier().start()
    try:
        yield fake
    finally:
        fake.stop()


async def _campaign(client: AsyncTestClient[Litestar], tenant: Tenant, webhook_url: str | None) -> httpx.Response:
    body: dict[str, Any] = {"name": "Hooks", "script": demo_script(), "webhook_url": webhook_url}
    return await client.post("/v1/campaigns", json=body, headers=tenant.headers)


def test_numeric_host_spellings_are_read_as_the_resolver_reads_them() -> None:
    assert {str(legacy_ipv4(h)) for h in ("2130706433", "0x7f.1", "127.1", "0177.0.0.1", "0x7f000001")} == {"127.0.0.1"}
    assert legacy_ipv4("hooks.example.in") is None and legacy_ipv4("1.2.3.4.5") is None


async def test_webhook_urls_to_internal_addresses_are_refused_at_creation_and_edit(
    client: AsyncTestClient[Litestar],
) -> None:
    tenant = await register(client, "acme")
    accepted = []
    for url in REFUSED:
        r = await _campaign(client, tenant, url)
        if r.status_code != 422 or r.json().get("field") != "webhook_url":
            accepted.append((url, r.status_code))
    assert accepted == []
    r = await _campaign(client, tenant, "http://[::ffff:169.254.169.254]/hook")
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "169.254.169.254" in r.json()["detail"]
    # A public address is fine; an edit to an internal one is refused like a creation.
    created = await _campaign(client, tenant, "https://93.184.216.34/hook")
    assert created.status_code == 201, created.text
    r = await client.patch(
        f"/v1/campaigns/{created.json()['id']}", json={"webhook_url": "http://0x7f.1/hook"}, headers=tenant.headers
    )
    assert r.status_code == 422 and r.json()["field"] == "webhook_url"
    r = await _campaign(client, tenant, "ftp://93.184.216.34/hook")
    assert r.status_code in (400, 422) and r.json()["field"] == "webhook_url"


async def test_operator_allow_list_admits_its_networks_only(sqlite_url: str, tmp_path: Path) -> None:
    settings = _settings(sqlite_url, tmp_path, allowed="127.0.0.0/8, fd00::/8")
    async with AsyncTestClient(app=create_app(settings), timeout=60) as client:
        tenant = await register(client, "acme")
        for url in ("http://127.0.0.1:9000/hook", "http://[::ffff:127.0.0.1]/hook", "http://[fd00::5]/hook"):
            r = await _campaign(client, tenant, url)
            assert r.status_code == 201, (url, r.text)
        r = await _campaign(client, tenant, "http://169.254.169.254/latest/meta-data/")
        assert r.status_code == 422 and r.json()["field"] == "webhook_url"


async def _queue(db: Database, campaign_id: str, event: str = "call.ended") -> None:
    async with session_scope(db) as s:
        campaign = await s.get(Campaign, campaign_id)
        assert campaign is not None
        await enqueue(s, campaign, event, {"call_id": "c-1"}, utcnow())


async def _deliveries(db: Database) -> list[WebhookDelivery]:
    async with db.sessions() as s:
        return list((await s.execute(select(WebhookDelivery).order_by(WebhookDelivery.id))).scalars().all())


async def test_a_name_resolving_to_loopback_at_delivery_is_not_sent_and_fails_with_the_reason(
    sqlite_url: str, tmp_path: Path, receiver: FakeCarrier
) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    url = f"http://hooks.tenant.example:{port}/hook"
    async with AsyncTestClient(app=create_app(_settings(sqlite_url, tmp_path)), timeout=60) as client:
        tenant = await register(client, "acme")
        created = await _campaign(client, tenant, url)  # the name does not resolve here: checked again at delivery
        assert created.status_code == 201, created.text
    db = create_database(sqlite_url)
    try:
        await _queue(db, created.json()["id"])

        async def dns(host: str, _port: int) -> list[str]:
            assert host == "hooks.tenant.example"
            return ["93.184.216.34", "127.0.0.1"]  # re-pointed (in part) at the platform itself

        async with httpx.AsyncClient(trust_env=False) as http:
            delivered = await Deliverer(db, max_attempts=5, resolver=dns).run_once(http)
        rows = await _deliveries(db)
    finally:
        await db.dispose()
    assert delivered == 0
    assert receiver.requests == []
    assert rows[0].failed_at is not None and rows[0].delivered_at is None
    assert rows[0].last_error is not None and "loopback" in rows[0].last_error


async def test_delivery_connects_to_the_checked_address_and_names_the_host(
    sqlite_url: str, tmp_path: Path, receiver: FakeCarrier
) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    url = f"http://hooks.tenant.example:{port}/hook"
    async with AsyncTestClient(app=create_app(_settings(sqlite_url, tmp_path)), timeout=60) as client:
        tenant = await register(client, "acme")
        created = await _campaign(client, tenant, url)
        assert created.status_code == 201, created.text
    db = create_database(sqlite_url)
    try:
        await _queue(db, created.json()["id"])

        async def dns(host: str, _port: int) -> list[str]:
            assert host == "hooks.tenant.example"
            return ["127.0.0.1"]  # an operator-approved on-premise receiver

        deliverer = Deliverer(db, resolver=dns, allowed_networks=parse_networks(LOOPBACK))
        async with httpx.AsyncClient(trust_env=False) as http:
            assert await deliverer.run_once(http) == 1
    finally:
        await db.dispose()
    [post] = receiver.requests
    assert post.path == "/hook"
    assert post.headers["Host"] == f"hooks.tenant.example:{port}"


async def test_each_account_signs_with_its_own_secret_and_rotation_replaces_it(
    sqlite_url: str, tmp_path: Path, receiver: FakeCarrier
) -> None:
    settings = _settings(sqlite_url, tmp_path, allowed=LOOPBACK)
    async with AsyncTestClient(app=create_app(settings), timeout=60) as client:
        secrets: dict[str, str] = {}
        campaigns: dict[str, str] = {}
        tenants: dict[str, Tenant] = {}
        for name in ("acme", "globex"):
            r = await client.post(
                "/v1/accounts",
                json={
                    "name": name,
                    "email": f"ops@{name}.example.in",
                    "billing": {"legal_name": name, "address": "Pune"},
                },
            )
            assert r.status_code == 201, r.text
            body = r.json()
            secrets[name] = body["webhook_secret"]
            tenants[name] = Tenant(account_id=body["account_id"], api_key=body["api_key"], key_id=body["api_key_id"])
            created = await _campaign(client, tenants[name], f"{receiver.url}/{name}")
            assert created.status_code == 201, created.text
            campaigns[name] = created.json()["id"]
        assert secrets["acme"] != secrets["globex"] and len(secrets["acme"]) >= 32
        me = (await client.get("/v1/accounts/me", headers=tenants["acme"].headers)).json()
        assert me["has_webhook_secret"] is True
        assert secrets["acme"] not in str(me)

    db = create_database(sqlite_url)
    deliverer = Deliverer(db, allowed_networks=parse_networks(LOOPBACK))
    try:
        for name in ("acme", "globex"):
            await _queue(db, campaigns[name])
        async with httpx.AsyncClient(trust_env=False) as http:
            assert await deliverer.run_once(http) == 2
        by_path = {p.path.strip("/"): p for p in receiver.requests}
        for name, other in (("acme", "globex"), ("globex", "acme")):
            post = by_path[name]
            assert verify(secrets[name], post.body, post.headers[HEADER])
            assert not verify(secrets[other], post.body, post.headers[HEADER])  # one tenant cannot forge another's

        async with AsyncTestClient(app=create_app(settings), timeout=60) as client:
            r = await client.post("/v1/accounts/me/webhook-secret", headers=tenants["acme"].headers)
            assert r.status_code == 201, r.text
            rotated = r.json()["webhook_secret"]
        assert rotated != secrets["acme"]
        receiver.requests.clear()
        await _queue(db, campaigns["acme"])
        async with httpx.AsyncClient(trust_env=False) as http:
            assert await deliverer.run_once(http) == 1
        [post] = receiver.requests
        assert verify(rotated, post.body, post.headers[HEADER])
        assert not verify(secrets["acme"], post.body, post.headers[HEADER])
    finally:
        await db.dispose()


async def test_a_delivery_without_the_accounts_secret_is_not_sent_unsigned(
    sqlite_url: str, tmp_path: Path, receiver: FakeCarrier
) -> None:
    async with AsyncTestClient(app=create_app(_settings(sqlite_url, tmp_path, allowed=LOOPBACK)), timeout=60) as c:
        tenant = await register(c, "acme")
        created = await _campaign(c, tenant, f"{receiver.url}/hook")
        assert created.status_code == 201, created.text
    db = create_database(sqlite_url)
    try:
        async with session_scope(db) as s:
            account = await s.get(Account, tenant.account_id)
            assert account is not None
            account.webhook_secret = None
        await _queue(db, created.json()["id"])
        async with httpx.AsyncClient(trust_env=False) as http:
            assert await Deliverer(db, allowed_networks=parse_networks(LOOPBACK)).run_once(http) == 0
        [row] = await _deliveries(db)
    finally:
        await db.dispose()
    assert receiver.requests == []
    assert row.failed_at is not None and row.last_error is not None and "secret" in row.last_error
