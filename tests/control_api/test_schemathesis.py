"""schemathesis against the served OpenAPI schema: no 5xx on any generated input, every error in the
problem-details shape. Runs against ``closerr serve`` (a real process) on each backend, bounded in examples."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

EXAMPLES_PER_OPERATION = 12


def _fuzz(base: str, schema_doc: dict[str, Any], headers: dict[str, str]) -> list[str]:
    schema = schemathesis.openapi.from_dict(schema_doc)
    failures: list[str] = []
    operations = 0
    with requests.Session() as http:
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Any) -> None:
                response = case.call(base_url=base, session=http, headers=headers, timeout=30)
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} body={str(case.body)[:300]!r}: "
                        f"{response.status_code} {response.text[:300]}"
                    )
                elif response.status_code >= 400:
                    body = response.json()
                    ctype = response.headers.get("content-type", [""])
                    ctype = ctype[0] if isinstance(ctype, list) else ctype
                    if ctype.split(";")[0] != "application/problem+json" or not {
                        "type",
                        "title",
                        "status",
                        "detail",
                    } <= set(body):
                        failures.append(f"{case.method} {case.formatted_path}: not problem details: {body}")

            # An operation whose parameters admit no generated value is not a failure of the API.
            with contextlib.suppress(Unsatisfiable):
                check()
    assert operations >= 15, operations
    return failures


async def test_no_5xx_on_generated_inputs(live_api: str) -> None:
    async with httpx.AsyncClient(base_url=live_api) as c:
        r = await c.post(
            "/v1/accounts",
            json={"name": "Fuzz", "email": "fuzz@example.in", "billing": {"legal_name": "Fuzz", "address": "Pune"}},
        )
        headers = {"Authorization": f"Bearer {r.json()['api_key']}"}
        schema_doc = (await c.get("/schema/openapi.json")).json()
    failures = await asyncio.to_thread(_fuzz, live_api, schema_doc, headers)
    if failures:
        pytest.fail("\n".join(failures[:20]))
