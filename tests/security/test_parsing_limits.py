"""Parsing client input cannot hurt the server: YAML without alias explosions, bounded nesting everywhere JSON or
scripts are read, text PostgreSQL cannot hold reported per row, a bounded rejected-row report with the full list
as a download, and the same field rules wherever a lead's fields, consent time or number are taken. Everything
runs through the real app on SQLite and PostgreSQL (the parametrized fixtures of tests/control_api)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient

from config.settings import Settings
from control_api.campaigns import scripts as campaign_scripts
from control_api.phones import normalise, parse_any
from tests.control_api.conftest import app, client, database_url, other_tenant, tenant  # noqa: F401
from tests.control_api.helpers import ATTEST, Tenant, create_campaign, demo_script, register, upload_csv
from tests.live_server import free_port

# Seven levels of nine aliases each (about 300 bytes): expanding it means 9**7 = 4.8 million strings.
ALIAS_BOMB = (
    'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:  # noqa: F811
    # JSON bodies up to 1 MB (the default), so the deep and the large bodies reach the checks under test.
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        api_max_body_bytes=1_000_000,
        upload_max_bytes=5_000_000,
        registry_import_max_bytes=5_000_000,
    )


def _ndjson(rows: list[dict[str, Any] | str]) -> bytes:
    return b"".join((r if isinstance(r, str) else json.dumps(r)).encode() + b"\n" for r in rows)


async def _upload_ndjson(client: AsyncTestClient[Litestar], tenant: Tenant, campaign_id: str, body: bytes) -> Any:  # noqa: F811
    return await client.post(
        f"/v1/campaigns/{campaign_id}/leads?{ATTEST}",
        content=body,
        headers={**tenant.headers, "Content-Type": "application/x-ndjson"},
    )


def _assert_problem(r: Any, status: int, field: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["field"] == field, body
    return body


# -- agent scripts ----------------------------------------------------------------------------------------------
async def test_yaml_alias_bomb_script_is_refused_naming_the_alias_line(
    client: AsyncTestClient[Litestar],  # noqa: F811
    tenant: Tenant,  # noqa: F811
) -> None:
    r = await client.post("/v1/campaigns", json={"name": "Bomb", "script": ALIAS_BOMB}, headers=tenant.headers)
    body = _assert_problem(r, 422, "script")
    assert "alias" in body["detail"] and body["errors"][0]["line"] == 2


async def test_script_aliases_are_refused_on_patch_too(
    client: AsyncTestClient[Litestar],  # noqa: F811
    tenant: Tenant,  # noqa: F811
) -> None:
    campaign = await create_campaign(client, tenant)
    r = await client.patch(f"/v1/campaigns/{campaign['id']}", json={"script": ALIAS_BOMB}, headers=tenant.headers)
    _assert_problem(r, 422, "script")


@pytest.fixture
async def served(app: Litestar) -> AsyncIterator[str]:  # noqa: F811
    """The app behind uvicorn on a loopback port, in a thread of this process (so a check can be gated)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 30)


async def test_script_check_runs_off_the_event_loop(served: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a script is being checked, the server answers other requests: the check is held open (a gate
    around the real check) and /health, sent after the check began, is answered before the script request."""
    started, release = threading.Event(), threading.Event()
    real: Callable[..., Any] = campaign_scripts.validate_script

    def gated(value: Any) -> Any:
        started.set()
        release.wait(timeout=10)  # on the event loop this would hold every request for the whole wait
        return real(value)

    monkeypatch.setattr(campaign_scripts, "validate_script", gated)
    monkeypatch.setattr("control_api.campaigns.service.validate_script", gated, raising=False)
    async with httpx.AsyncClient(base_url=served, timeout=60) as http:
        tenant = await register(http, "acme")  # type: ignore[arg-type]
        script_request = asyncio.create_task(
            http.post("/v1/campaigns", json={"name": "Bomb", "script": ALIAS_BOMB}, headers=tenant.headers)
        )
        try:
            await asyncio.to_thread(started.wait, 30)
            health = asyncio.create_task(http.get("/health"))
            done, _ = await asyncio.wait({script_request, health}, return_when=asyncio.FIRST_COMPLETED)
            assert health in done and script_request not in done
            assert health.result().status_code == 200
        finally:
            release.set()
        _assert_problem(await script_request, 422, "script")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[" * 50_000 + "]" * 50_000, id="json"),
        pytest.param("name: " + "[" * 50_000 + "]" * 50_000, id="yaml-flow"),
        pytest.param("{" + '"a":{' * 20_000 + "}" * 20_001, id="json-objects"),
    ],
)
async def test_deeply_nested_script_text_is_a_422(
    client: AsyncTestClient[Litestar],  # noqa: F811
    tenant: Tenant,  # noqa: F811
    text: str,
) -> None:
    r = await client.post("/v1/campaigns", json={"name": "Deep", "script": text}, headers=tenant.headers)
    body = _assert_problem(r, 422, "script")
    assert "nested deeper" in body["detail"]


# -- JSON bodies --------------------------------------------------------------------------------------------------
async def test_deeply_nested_json_body_is_a_400_not_a_500(
    client: AsyncTestClient[Litestar],  # noqa: F811
    tenant: Tenant,  # noqa: F811
) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    r = await client.post("/v1/campaigns", content=deep, headers={**tenant.headers, "Content-Type": "application/json"})
    body = _assert_problem(r, 400, "body")
    assert "nested deeper" in body["detail"]
    # Brackets inside strings are text, not nesting: an ordinary body with many of them is still read.
    ok = await client.post("/v1/campaigns", json={"name": "[" * 150, "script": demo_script()}, headers=tenant.headers)
    assert ok.status_code == 201, ok.text


# -- lead uploads ---------------------------------------------------------------------------------------------------
async def test_ndjson_row_with_deep_metadata_is_one_malformed_row_and_the_others_are_imported(
    client: AsyncTestClient[Litestar],  # noqa: F811
    tenant: Tenant,  # noqa: F811
) -> None:
    campaign = await create_campaign(client, tenant)
    deep = '{"phone":"9876500002","metadata":{"a":' + "[" * 5_000 + "]" * 5_000 + "}}"
    shallow_but_over_the_bound = {"phone": "9876500003", "metadata": {"a": json.loads("[" * 20 + "]" * 20)}}
    body = _ndjson(
        [
            {"phone": "9876500001", "name": "Asha"},
            deep,
            shallow_but_over_the_bound,
            {"phone": "9876500004", "metadata": {"city": "Pune", "tags": ["a", ["b"]]}},
        ]
    )
    r = await _upload_ndjson(client, tenant, campaign["id"], body)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["accepted"] == 2
    assert [(x["line"], x["reason"]) for x in report["rejected"]] == [(2, "malformed_row"), (3, "malformed_row")]
    assert all("nested deeper" in x["detail"] for x in report["rejected"])


async def test_nul_in_ndjson_name_or_metadata_is_one_malformed_row_on_every_backend(
    client: AsyncTestClient[Litestar],  # noqa: F811
    tenant: Tenant,  # noqa: F811
) -> None:
    campaign = await create_campaign(client, tenant)
    body = _ndjson(
        [
            {"phone": "9876500001", "name": "Asha"},
            {"phone": "9876500002", "name": "A\u0000B"},
            {"phone": "9876500003", "metadata": {"city": "Pu\u0000ne"}},
            {"phone": "9876500004", "metadata": {"nested": {"k\u0000": "v"}}},
            {"phone": "9876500005", "plan": ["x", "\u0000"]},  # an extra key: merged into the metadata
            {"phone": "9876500006", "metadata": {"note": "a literal \\u0000 is text"}},
        ]
    )
    r = await _upload_ndjson(client, tenant, campaign["id"], body)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["accepted"] == 2
    assert [x["line"] for x in report["rejected"]] == [2, 3, 4, 5]
    assert {x["reason"] for x in report["rejected"]} == {"malformed_row"}
    assert all("NUL" in x["detail"] for x in report["rejected"])
    leads = (await client.get(f"/v1/campaigns/{campaign['id']}/leads", headers=tenant.headers)).json()["items"]
    assert sorted(lead["phone"] for lead in leads) == ["+919876500001", "+919876500006"]


async def test_nul_in_a_csv_row_is_one_malformed_row_on_every_backend(
    client: AsyncTestClient[Litestar],  # noqa: F811
    tenant: Tenant,  # noqa: F811
) -> None:
    campaign = await create_campaign(client, tenant)
    body = "phone,name,city\n9876500001,Asha,Pune\n9876500002,A\x00B,Pune\n9876500003,Ravi,Nash\x00ik\n"
    body += "9876500004,Meera,Mumbai\n"
    r = await upload_csv(client, tenant, campaign["id"], body)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["accepted"] == 2
    assert [(x["line"], x["reason"]) for x in report["rejected"]] == [(3, "malformed_row"), (4, "malformed_row")]


async def test_rejected_rows_are_capped_inline_and_all_downloadable(
    client: AsyncTestClient[Litestar],  # noqa: F811
    tenant: Tenant,  # noqa: F811
    other_tenant: Tenant,  # noqa: F811
) -> None:
    campaign = await create_campaign(client, tenant)
    bad = 50_000
    body = "phone,name\n9876500001,Asha\n" + "12345,Nobody\n" * bad + "9876500002,Ravi\n"
    r = await upload_csv(client, tenant, campaign["id"], body)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["accepted"] == 2 and report["rows"] == bad + 2
    assert report["rejected_count"] == bad and report["rejected_by_reason"] == {"invalid_number": bad}
    assert report["rejected_truncated"] is True
    assert len(report["rejected"]) == 1_000  # the documented inline limit
    assert report["rejected"][0] == {"line": 3, "reason": "invalid_number"}

    download = await client.get(report["rejections_url"], headers=tenant.headers)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0] == ["line", "reason", "detail"]
    assert [int(row[0]) for row in rows[1:]] == list(range(3, bad + 3))
    assert {row[1] for row in rows[1:]} == {"invalid_number"}

    stranger = await client.get(report["rejections_url"], headers=other_tenant.headers)
    assert stranger.status_code == 404


async def test_small_upload_report_keeps_its_shape(
    client: AsyncTestClient[Litestar],  # noqa: F811
    tenant: Tenant,  # noqa: F811
) -> None:
    campaign = await create_campaign(client, tenant)
    r = await upload_csv(client, tenant, campaign["id"], "phone\n9876500001\n123\n")
    report = r.json()
    assert report["rejected"] == [{"line": 3, "reason": "invalid_number"}]
    assert report["rejected_count"] == 1 and report["rejected_truncated"] is False
    download = await client.get(report["rejections_url"], headers=tenant.headers)
    assert download.text.splitlines() == ["line,reason,detail", "3,invalid_number,"]


# -- field rules wherever the fields are taken --------------------------------------------------------------------
async def test_subject_correction_obeys_the_upload_metadata_limits(
    client: AsyncTestClient[Litestar],  # noqa: F811
    tenant: Tenant,  # noqa: F811
) -> None:
    campaign = await create_campaign(client, tenant)
    r = await upload_csv(client, tenant, campaign["id"], "phone,name\n9876500001,Asha\n")
    assert r.json()["accepted"] == 1
    url = "/v1/subjects/+919876500001"
    huge = {f"k{i}": "x" * 800 for i in range(1_025)}  # about 820 KB
    assert len(msgspec.json.encode(huge)) > 800_000
    body = _assert_problem(await client.patch(url, json={"metadata": huge}, headers=tenant.headers), 422, "metadata")
    assert "4096" in body["detail"]
    deep: Any = "x"
    for _ in range(20):
        deep = {"k": deep}
    _assert_problem(await client.patch(url, json={"metadata": deep}, headers=tenant.headers), 422, "metadata")
    nul = {"city": "Pu\u0000ne"}
    _assert_problem(await client.patch(url, json={"metadata": nul}, headers=tenant.headers), 422, "metadata")
    _assert_problem(await client.patch(url, json={"name": "A\u0000B"}, headers=tenant.headers), 422, "name")
    ok = await client.patch(url, json={"metadata": {"city": "Nashik"}, "name": "Asha K"}, headers=tenant.headers)
    assert ok.status_code == 200, ok.text


async def test_future_consent_time_in_a_row_is_rejected(
    client: AsyncTestClient[Litestar],  # noqa: F811
    tenant: Tenant,  # noqa: F811
) -> None:
    campaign = await create_campaign(client, tenant)
    body = (
        "phone,consent_source,consent_at,consent_purpose\n"
        "9876500001,web form,2026-01-01T10:00:00Z,solar quote\n"
        "9876500002,web form,2999-01-01T00:00:00Z,solar quote\n"
    )
    r = await upload_csv(client, tenant, campaign["id"], body, query="no_minors_attested=true")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["accepted"] == 1
    assert report["rejected"] == [{"line": 3, "reason": "malformed_row", "detail": "consent_at is in the future"}]
    ndjson = _ndjson(
        [{"phone": "9876500003", "consent_source": "web", "consent_purpose": "p", "consent_at": "2999-01-01"}]
    )
    r = await client.post(
        f"/v1/campaigns/{campaign['id']}/leads?no_minors_attested=true",
        content=ndjson,
        headers={**tenant.headers, "Content-Type": "application/x-ndjson"},
    )
    assert r.json()["rejected"] == [{"line": 1, "reason": "malformed_row", "detail": "consent_at is in the future"}]


@pytest.mark.parametrize("raw", ["-9876543210", "--9876543210", "-+919876543210", "9876543210-", "\u22129876543210"])
def test_numbers_with_a_sign_or_stray_dash_are_invalid(raw: str) -> None:
    assert normalise(raw) == "invalid_number"
    assert parse_any(raw) is None


async def test_negative_number_is_rejected_in_uploads_and_subject_requests(
    client: AsyncTestClient[Litestar],  # noqa: F811
    tenant: Tenant,  # noqa: F811
) -> None:
    campaign = await create_campaign(client, tenant)
    r = await upload_csv(client, tenant, campaign["id"], "phone\n-9876543210\n9876543211\n98765-43212\n")
    assert r.json()["rejected"] == [{"line": 2, "reason": "invalid_number"}]
    assert r.json()["accepted"] == 2
    r = await _upload_ndjson(client, tenant, campaign["id"], _ndjson([{"phone": "-9876543213"}]))
    assert r.json()["rejected"] == [{"line": 1, "reason": "invalid_number"}]
    _assert_problem(await client.get("/v1/subjects/-9876543211", headers=tenant.headers), 422, "phone")
