"""API shape: OpenAPI at /schema, problem details for framework errors, JSON size limit."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.control_api.helpers import Tenant


async def test_openapi_lists_the_v1_surface(client: AsyncTestClient[Litestar]) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    paths = set(doc["paths"])
    assert {
        "/v1/accounts",
        "/v1/api-keys",
        "/v1/api-keys/{key_id}",
        "/v1/campaigns",
        "/v1/campaigns/{campaign_id}",
        "/v1/campaigns/{campaign_id}/start",
        "/v1/campaigns/{campaign_id}/leads",
        "/v1/campaigns/{campaign_id}/calls",
        "/v1/calls/{call_id}",
        "/v1/dnd/import",
        "/v1/dnd/{phone}",
        "/v1/consent/withdraw",
        "/health",
    } <= paths
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert not doc["paths"]["/v1/accounts"]["post"].get("security")  # registration needs no key
    assert doc["paths"]["/v1/campaigns"]["get"]["security"] == [{"bearer": []}]


async def test_framework_errors_are_problem_details(client: AsyncTestClient[Litestar], tenant: Tenant) -> None:
    r = await client.get("/v1/nothing-here", headers=tenant.headers)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 404
    r = await client.put("/v1/campaigns", headers=tenant.headers, json={})
    assert r.status_code == 405 and r.json()["title"] == "Method not allowed"
    r = await client.post(
        "/v1/campaigns", content=b"{not json", headers={**tenant.headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["type"].startswith("https://")
    # JSON bodies are capped (64 kB in these tests): 413 naming the body.
    r = await client.post("/v1/campaigns", json={"name": "x" * 70_000, "script": {}}, headers=tenant.headers)
    assert r.status_code == 413 and r.json()["field"] == "body"
