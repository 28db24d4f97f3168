"""Accounts and API keys: registration, keys shown once and stored hashed, rotation, revocation, isolation."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from control_api.accounts.tables import Account, ApiKey
from control_api.storage.db import Database
from tests.control_api.helpers import Tenant, create_campaign


async def test_registration_stores_account_with_ip_and_hashed_key(
    client: AsyncTestClient[Litestar], db: Database, tenant: Tenant
) -> None:
    async with db.sessions() as s:
        account = await s.get(Account, tenant.account_id)
        keys = list(await s.scalars(select(ApiKey).where(ApiKey.account_id == tenant.account_id)))
    assert account is not None
    assert account.name == "acme Pvt Ltd"
    assert account.email == "ops@acme.example.in"
    assert account.billing["legal_name"] == "acme Private Limited"
    assert account.registration_ip  # the test client's address
    assert len(keys) == 1
    # Only the hash is stored; the plaintext appears nowhere in the row.
    assert keys[0].key_hash == hashlib.sha256(tenant.api_key.encode()).hexdigest()
    assert tenant.api_key not in {keys[0].key_hash, keys[0].prefix}
    assert tenant.api_key.startswith(f"clr_{keys[0].prefix}_")


async def test_duplicate_email_is_409_naming_email(client: AsyncTestClient[Litestar], tenant: Tenant) -> None:
    r = await client.post(
        "/v1/accounts",
        json={"name": "x", "email": "OPS@acme.example.in", "billing": {"legal_name": "x", "address": "y"}},
    )
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == "email"


async def test_bad_registration_names_the_field(client: AsyncTestClient[Litestar]) -> None:
    r = await client.post("/v1/accounts", json={"name": "x", "email": "not-an-email", "billing": {}})
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == 400
    assert {e["field"] for e in body["errors"]} & {"email", "billing.legal_name"}


async def test_every_v1_endpoint_needs_a_key(client: AsyncTestClient[Litestar], tenant: Tenant) -> None:
    for path in ("/v1/campaigns", "/v1/api-keys", "/v1/dnd/9876543210", "/v1/accounts/me"):
        r = await client.get(path)
        assert r.status_code == 401, path
        assert r.json()["field"] == "Authorization"
        assert "Bearer" in r.headers["www-authenticate"]
    bad = {"Authorization": f"Bearer {tenant.api_key[:-2]}xx"}
    assert (await client.get("/v1/campaigns", headers=bad)).status_code == 401
    assert (await client.get("/v1/campaigns", headers={"Authorization": tenant.api_key})).status_code == 401
    assert (await client.get("/v1/campaigns", headers=tenant.headers)).status_code == 200
    assert (await client.get("/health")).status_code == 200


async def test_keys_list_prefix_only_rotate_and_revoke(client: AsyncTestClient[Litestar], tenant: Tenant) -> None:
    r = await client.post("/v1/api-keys", json={"label": "ci"}, headers=tenant.headers)
    assert r.status_code == 201
    second = r.json()
    assert second["api_key"].startswith("clr_")

    listed = (await client.get("/v1/api-keys", headers=tenant.headers)).json()
    assert {k["id"] for k in listed["items"]} == {tenant.key_id, second["id"]}
    assert tenant.api_key not in str(listed) and second["api_key"] not in str(listed)
    assert all(set(k) >= {"prefix", "active"} and "api_key" not in k for k in listed["items"])

    # Rotate the first key: the new one works, the old one stops at once.
    rotated = await client.post(f"/v1/api-keys/{tenant.key_id}/rotate", headers=tenant.headers)
    assert rotated.status_code == 201
    new_headers = {"Authorization": f"Bearer {rotated.json()['api_key']}"}
    assert (await client.get("/v1/campaigns", headers=tenant.headers)).status_code == 401
    assert (await client.get("/v1/campaigns", headers=new_headers)).status_code == 200

    # Revoke the second key.
    r = await client.delete(f"/v1/api-keys/{second['id']}", headers=new_headers)
    assert r.status_code == 200 and r.json()["active"] is False
    assert (
        await client.get("/v1/campaigns", headers={"Authorization": f"Bearer {second['api_key']}"})
    ).status_code == 401
    # The last active key cannot be revoked (that would lock the account out).
    r = await client.delete(f"/v1/api-keys/{rotated.json()['id']}", headers=new_headers)
    assert r.status_code == 409


async def test_key_pagination(client: AsyncTestClient[Litestar], tenant: Tenant) -> None:
    for i in range(4):
        await client.post("/v1/api-keys", json={"label": f"k{i}"}, headers=tenant.headers)
    seen: list[str] = []
    cursor = None
    while True:
        q = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(f"/v1/api-keys{q}", headers=tenant.headers)).json()
        seen += [k["id"] for k in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    r = await client.get("/v1/api-keys?limit=0", headers=tenant.headers)
    assert r.status_code == 400 and r.json()["field"] == "limit"
    r = await client.get("/v1/api-keys?cursor=@@@", headers=tenant.headers)
    assert r.status_code == 422 and r.json()["field"] == "cursor"


async def test_tenant_isolation_answers_404(
    client: AsyncTestClient[Litestar], tenant: Tenant, other_tenant: Tenant
) -> None:
    campaign = await create_campaign(client, tenant)
    cid = campaign["id"]
    for method, path in [
        ("GET", f"/v1/campaigns/{cid}"),
        ("PATCH", f"/v1/campaigns/{cid}"),
        ("POST", f"/v1/campaigns/{cid}/start"),
        ("GET", f"/v1/campaigns/{cid}/leads"),
        ("GET", f"/v1/campaigns/{cid}/calls"),
        ("DELETE", f"/v1/api-keys/{tenant.key_id}"),
        ("POST", f"/v1/api-keys/{tenant.key_id}/rotate"),
    ]:
        kwargs = {"json": {"name": "stolen"}} if method == "PATCH" else {}
        theirs = await client.request(method, path, headers=other_tenant.headers, **kwargs)
        missing = await client.request(
            method,
            path.replace(cid, "00000000-0000-0000-0000-000000000000").replace(tenant.key_id, "nope"),
            headers=other_tenant.headers,
            **kwargs,
        )
        assert theirs.status_code == 404, (method, path, theirs.text)
        assert missing.status_code == 404
        assert theirs.json()["detail"] == missing.json()["detail"]
    assert (await client.get("/v1/campaigns", headers=other_tenant.headers)).json()["items"] == []
    r = await client.post(
        f"/v1/campaigns/{cid}/leads?no_minors_attested=true",
        content=b"phone\n9876543210\n",
        headers={**other_tenant.headers, "Content-Type": "text/csv"},
    )
    assert r.status_code == 404
    # The owner still sees it unchanged.
    assert (await client.get(f"/v1/campaigns/{cid}", headers=tenant.headers)).json()["name"] == "Solar Pune"


@pytest.mark.parametrize(
    "account",
    [
        {"name": "A\u0000B", "email": "nul@example.in", "billing": {"legal_name": "x", "address": "y"}},
        # The billing details are a JSON column (JSONB on PostgreSQL, which refuses \u0000 differently).
        {"name": "A", "email": "nul@example.in", "billing": {"legal_name": "x", "address": "y\u0000"}},
    ],
    ids=["text", "json"],
)
async def test_nul_characters_are_a_client_error_on_every_backend(
    client: AsyncTestClient[Litestar], account: dict[str, Any]
) -> None:
    r = await client.post("/v1/accounts", json=account)
    # SQLite stores it; PostgreSQL refuses NUL in text: that must be a 4xx naming the body, never a 500.
    assert r.status_code in (201, 422), r.text
    if r.status_code == 422:
        assert r.json()["field"] == "body"
