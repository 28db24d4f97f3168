"""schemathesis against the served OpenAPI schema: no 5xx on any generated input, every error in the
problem-details shape. Runs against ``closerr serve`` (a real process) on each backend, bounded in examples."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.fuzzing import fuzz

EXAMPLES_PER_OPERATION = 12


async def test_no_5xx_on_generated_inputs(live_api: str) -> None:
    async with httpx.AsyncClient(base_url=live_api) as c:
        r = await c.post(
            "/v1/accounts",
            json={"name": "Fuzz", "email": "fuzz@example.in", "billing": {"legal_name": "Fuzz", "address": "Pune"}},
        )
        headers = {"Authorization": f"Bearer {r.json()['api_key']}"}
        schema_doc = (await c.get("/schema/openapi.json")).json()
    operations, failures = await asyncio.to_thread(fuzz, live_api, schema_doc, headers, examples=EXAMPLES_PER_OPERATION)
    assert operations >= 15, operations
    if failures:
        pytest.fail("\n".join(failures[:20]))
