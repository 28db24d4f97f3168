"""``closerr serve`` as a real process: health, and uploads streamed through a real socket in small chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from tests.control_api.helpers import ATTEST, demo_script


async def _tenant(c: httpx.AsyncClient) -> dict[str, str]:
    r = await c.post(
        "/v1/accounts",
        json={"name": "Live", "email": "live@example.in", "billing": {"legal_name": "Live", "address": "Pune"}},
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['api_key']}"}


async def test_streamed_upload_and_mid_stream_413_over_a_real_socket(live_api: str) -> None:
    async with httpx.AsyncClient(base_url=live_api, timeout=60) as c:
        health = (await c.get("/health")).json()
        assert health["status"] == "ok"
        h = await _tenant(c)
        cid = (await c.post("/v1/campaigns", json={"name": "live", "script": demo_script()}, headers=h)).json()["id"]

        n = 20_000
        data = ("name,phone\n" + "".join(f"Lead {i},+91 98{i:08d}\n" for i in range(n))).encode()

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(data), 4093):  # chunk edges fall inside rows; no Content-Length
                yield data[i : i + 4093]

        r = await c.post(
            f"/v1/campaigns/{cid}/leads?{ATTEST}", content=chunks(), headers={**h, "Content-Type": "text/csv"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == n and r.json()["rejected"] == []

        # Past the 5 MB limit mid-stream (chunked, so no Content-Length to refuse early): 413, nothing kept.
        async def too_big() -> AsyncIterator[bytes]:
            yield b"phone\n" + "".join(f"97{i:08d}\n" for i in range(5000)).encode()
            for _ in range(100):
                yield b"9" * 65_536

        r = await c.post(
            f"/v1/campaigns/{cid}/leads?{ATTEST}", content=too_big(), headers={**h, "Content-Type": "text/csv"}
        )
        assert r.status_code == 413
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["field"] == "body"
        page = (await c.get(f"/v1/campaigns/{cid}/leads?limit=1&cursor=MjAwMDA", headers=h)).json()
        assert page["items"] == []  # nothing after lead 20,000: the refused upload wrote no row

        # JSON bodies have their own, small limit.
        r = await c.post(
            "/v1/campaigns",
            content=b'{"name": "' + b"x" * 2_000_000 + b'"}',
            headers={**h, "Content-Type": "application/json"},
        )
        assert r.status_code == 413
