"""Browser security: every response carries CSP, X-Frame-Options, nosniff and Referrer-Policy; HSTS and Secure
cookies exactly when served over TLS (a real ``closerr serve --ssl-certfile``); console sessions live server-side,
so a copy of the cookie replayed after sign-out is sent back to the sign-in page."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from config.settings import Settings
from control_api.accounts.tables import ConsoleSession
from control_api.app import create_app
from control_api.storage.db import Database
from control_api.storage.types import utcnow
from tests.console.conftest import CHROMIUM, launch
from tests.control_api.helpers import Tenant, register
from tests.privacy.test_cli import _free_port, self_signed  # noqa: F401  (fixture: openssl's self-signed cert)

REPO = Path(__file__).resolve().parents[2]
COOKIE = "closerr_console"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = Settings(data_dir=tmp_path / "data", retention_scheduler=False)
    async with AsyncTestClient(app=create_app(settings), timeout=60) as c:
        yield c


def _assert_browser_headers(r: httpx.Response) -> None:
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


async def test_api_responses_carry_the_security_headers(client: AsyncTestClient[Litestar]) -> None:
    for method, path, status in (
        ("GET", "/health", 200),
        ("GET", "/v1/campaigns", 401),
        ("GET", "/no/such/route", 404),
        ("POST", "/v1/accounts", 400),
    ):
        r = await client.request(method, path, json={} if method == "POST" else None)
        assert r.status_code == status, path
        _assert_browser_headers(r)
        assert r.headers["content-security-policy"].startswith("default-src 'none'")
        assert "strict-transport-security" not in r.headers  # plain HTTP: no HSTS


async def _sign_in(client: AsyncTestClient[Litestar], tenant: Tenant) -> httpx.Response:
    page = await client.get("/console/login")
    csrf = client.cookies.get("closerr_csrf")
    assert page.status_code == 200 and csrf
    return await client.post(
        "/console/login", data={"api_key": tenant.api_key}, headers={"x-csrftoken": csrf}, follow_redirects=False
    )


async def test_console_pages_refuse_framing_and_load_only_their_own_origin(
    client: AsyncTestClient[Litestar],
) -> None:
    tenant = await register(client, "framed")
    assert (await _sign_in(client, tenant)).status_code == 303
    for path in ("/console/login", "/console/campaigns", "/console/rights", "/console/static/console.js"):
        r = await client.get(path)
        assert r.status_code == 200, path
        _assert_browser_headers(r)
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp and "object-src 'none'" in csp


async def test_a_console_cookie_replayed_after_sign_out_is_sent_to_sign_in(
    client: AsyncTestClient[Litestar],
) -> None:
    tenant = await register(client, "replay")
    signed_in = await _sign_in(client, tenant)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console/campaigns"
    stolen = client.cookies.get(COOKIE)
    assert stolen
    assert (await client.get("/console/campaigns")).status_code == 200

    out = await client.post(
        "/console/logout", headers={"x-csrftoken": client.cookies.get("closerr_csrf") or ""}, follow_redirects=False
    )
    assert out.status_code == 303

    client.cookies.set(COOKIE, stolen, path="/console")
    replay = await client.get("/console/campaigns", follow_redirects=False)
    assert replay.status_code == 303 and replay.headers["location"] == "/console/login"
    api = await client.get("/console/campaigns", headers={"accept": "application/json"}, follow_redirects=False)
    assert api.status_code == 401


async def test_sign_in_keeps_only_a_hash_of_the_token_and_purges_expired_sessions(
    client: AsyncTestClient[Litestar],
) -> None:
    tenant = await register(client, "purge")
    db: Database = client.app.state.db
    async with db.sessions() as s, s.begin():
        s.add(
            ConsoleSession(
                id="e" * 64,
                account_id=tenant.account_id,
                key_id=tenant.key_id,
                created_at=utcnow() - timedelta(days=2),
                expires_at=utcnow() - timedelta(days=1),
            )
        )
    assert (await _sign_in(client, tenant)).status_code == 303
    async with db.sessions() as s:
        ids = list((await s.execute(select(ConsoleSession.id))).scalars())
        live = await s.scalar(
            select(func.count()).select_from(ConsoleSession).where(ConsoleSession.expires_at > utcnow())
        )
    assert "e" * 64 not in ids and len(ids) == 1 and live == 1
    assert ids[0] not in (client.cookies.get(COOKIE) or "")  # the cookie holds the token, the row its hash


@pytest.fixture
def tls_server(tmp_path: Path, self_signed: tuple[Path, Path]) -> Iterator[tuple[str, Path]]:  # noqa: F811
    cert, key = self_signed
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CLOSERR_RETENTION_SCHEDULER": "false"}
    for name in ("CLOSERR_DATABASE_URL", "CLOSERR_TLS_CERT", "CLOSERR_TLS_KEY", "CLOSERR_CONSOLE_SECURE_COOKIES"):
        env.pop(name, None)
    log_file = tmp_path / "serve.log"
    args = ["serve", "--no-worker", "--port", str(port), "--data-dir", str(tmp_path / "d")]
    args += ["--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]
    with log_file.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "closerr.cli", *args], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"https://127.0.0.1:{port}"
    try:
        while True:
            try:
                httpx.get(f"{base}/health", verify=str(cert), timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    raise AssertionError(log_file.read_text()) from None
                time.sleep(0.3)
        yield base, cert
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_over_tls_responses_carry_hsts_and_console_cookies_are_secure(tls_server: tuple[str, Path]) -> None:
    base, cert = tls_server
    with httpx.Client(base_url=base, verify=str(cert), timeout=30) as c:
        health = c.get("/health")
        assert "max-age=" in health.headers["strict-transport-security"]
        _assert_browser_headers(health)
        reg = c.post(
            "/v1/accounts",
            json={
                "name": "Tls Pvt Ltd",
                "email": "ops@tls.example.in",
                "billing": {"legal_name": "Tls Private Limited", "address": "MG Road, Pune", "country": "IN"},
            },
        )
        assert reg.status_code == 201, reg.text
        login_page = c.get("/console/login")
        assert "strict-transport-security" in login_page.headers
        csrf_cookie = login_page.headers["set-cookie"]
        assert csrf_cookie.startswith("closerr_csrf=") and "; secure" in csrf_cookie.lower()
        signed_in = c.post(
            "/console/login",
            data={"api_key": reg.json()["api_key"]},
            headers={"x-csrftoken": c.cookies["closerr_csrf"]},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303
        session_cookie = next(v for v in signed_in.headers.get_list("set-cookie") if v.startswith(COOKIE))
        assert "; secure" in session_cookie.lower() and "; httponly" in session_cookie.lower()


class _AttackerPage(http.server.BaseHTTPRequestHandler):
    """Another origin (another port): one page framing the console, one framing a page of its own."""

    console_url = ""

    def do_GET(self) -> None:
        if self.path == "/own":
            body = "<p id=own>attacker's own page</p>"
        else:
            body = f'<iframe id=console src="{self.console_url}"></iframe><iframe id=own src="/own"></iframe>'
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_another_site_cannot_frame_the_console_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (apt-get install chromium; see scripts/apt-packages.txt)")
    app = create_app(Settings(data_dir=tmp_path / "data", retention_scheduler=False))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="framed-console", daemon=True)
    thread.start()
    _AttackerPage.console_url = f"http://127.0.0.1:{port}/console/login"
    attacker = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AttackerPage)
    attacker_thread = threading.Thread(target=attacker.serve_forever, name="attacker", daemon=True)
    attacker_thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the console server did not start")
            time.sleep(0.05)
        with sync_playwright() as p:
            context = launch(p)
            try:
                page = context.new_page()
                page.goto(f"http://127.0.0.1:{attacker.server_address[1]}/", wait_until="load")
                by_id = {}
                for frame in page.frames[1:]:
                    by_id[frame.frame_element().get_attribute("id")] = frame
                # The control: a frame that may be shown is shown, so an empty console frame means refused.
                assert "attacker's own page" in by_id["own"].evaluate("document.body.innerText")
                console_frame = by_id["console"]
                assert not console_frame.url.startswith(_AttackerPage.console_url)
                assert "Closerr console" not in console_frame.evaluate("document.body ? document.body.innerText : ''")
            finally:
                context.close()
    finally:
        attacker.shutdown()
        server.should_exit = True
        thread.join(timeout=15)
