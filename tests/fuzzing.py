"""A bounded schemathesis run against a live server's own OpenAPI document: every generated request of every
operation, with one key. Answers what went wrong: a 5xx, an error that is not problem details, or a response that
shows text the caller must never see (another tenant's data)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

PROBLEM_FIELDS = {"type", "title", "status", "detail"}


def fuzz(
    base: str,
    schema_doc: dict[str, Any],
    headers: dict[str, str],
    *,
    examples: int,
    forbidden: Sequence[str] = (),
) -> tuple[int, list[str]]:
    """(operations run, failures)."""
    schema = schemathesis.openapi.from_dict(schema_doc)
    failures: list[str] = []
    operations = 0
    with requests.Session() as http:
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1

            @given(case=operation.as_strategy())
            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Any) -> None:
                response = case.call(base_url=base, session=http, headers=headers, timeout=30)
                where = f"{case.method} {case.formatted_path}"
                if response.status_code >= 500:
                    failures.append(
                        f"{where} body={str(case.body)[:300]!r}: {response.status_code} {response.text[:300]}"
                    )
                elif response.status_code >= 400:
                    ctype = response.headers.get("content-type", [""])
                    ctype = ctype[0] if isinstance(ctype, list) else ctype  # schemathesis answers header lists
                    body = response.json() if ctype.startswith("application/problem+json") else {}
                    if not set(body) >= PROBLEM_FIELDS:
                        failures.append(f"{where}: not problem details: {response.text[:300]}")
                for secret in forbidden:
                    if secret in response.text:
                        failures.append(f"{where}: answered another tenant's {secret!r}")

            # An operation whose parameters admit no generated value is not a failure of the API.
            with contextlib.suppress(Unsatisfiable):
                check()
    return operations, failures
