"""Fixtures of the console tests: the control API with its console served by uvicorn on a real socket (in a
thread of this process, so tests can also reach the storage layer), and Debian's Chromium driven by Playwright.

Playwright never downloads a browser here: it launches /usr/bin/chromium with a fresh profile directory.
The fixtures are package-scoped: Playwright's sync API runs an event loop on the main thread while it is open, which
the async tests of other directories must not find still running.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from config.settings import Settings
from control_api.app import create_app
from control_api.storage.db import Database, create_database
from engine.facade import Engine

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ConsoleServer:
    base_url: str
    database_url: str
    settings: Settings

    def run_db(self, work: Callable[[Database], Awaitable[T]]) -> T:
        """Run ``work`` against the server's database through the storage layer (its own engine and loop)."""

        async def main() -> T:
            db = create_database(self.database_url)
            try:
                return await work(db)
            finally:
                await db.dispose()

        # Playwright's sync API keeps an event loop running in this thread: the work gets a thread of its own.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, main()).result(timeout=60)

    def api(self, method: str, path: str, key: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        headers.update(kwargs.pop("headers", {}))
        return httpx.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)


@pytest.fixture(scope="package")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    data_dir = tmp_path_factory.mktemp("console-data")
    database_url = f"sqlite+aiosqlite:///{data_dir / 'closerr.sqlite3'}"
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        retention_scheduler=False,
        console_session_secret="console-test-secret",  # type: ignore[arg-type]
        rate_limit_signups_per_hour=10_000,  # one server for the package: every test signs up from 127.0.0.1
    )
    app = create_app(settings, Engine())
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="console-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console server did not start")
        time.sleep(0.05)
    try:
        yield ConsoleServer(f"http://127.0.0.1:{port}", database_url, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="package")
def served_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    """``closerr serve`` as its own process: the engine's models and native threads live and die there.

    The test call runs the real pipeline. Run in a thread of this test process, that left the process aborting
    in native code at interpreter exit ("terminate called without an active exception", exit status 134) although
    every test passed; as a server process of its own (as in production) it starts and stops cleanly.
    """
    data_dir = tmp_path_factory.mktemp("served-console")
    database_url = f"sqlite+aiosqlite:///{data_dir / 'closerr.sqlite3'}"
    port = _free_port()
    env = {
        **os.environ,
        "CLOSERR_DATABASE_URL": database_url,
        "CLOSERR_RETENTION_SCHEDULER": "false",
        "CLOSERR_CONSOLE_SESSION_SECRET": "console-test-secret",
        "CLOSERR_RATE_LIMIT_SIGNUPS_PER_HOUR": "10000",
    }
    log_path = data_dir / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "closerr.cli",
                "serve",
                "--no-worker",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"closerr serve exited: {log_path.read_text()[-3000:]}")
                try:
                    if httpx.get(base + "/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("closerr serve did not come up in 60 s")
                time.sleep(0.1)
            yield ConsoleServer(base, database_url, Settings(data_dir=data_dir, database_url=database_url))
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class Tenant:
    account_id: str
    api_key: str


def register(server: ConsoleServer, name: str = "Acme Solar") -> Tenant:
    email = f"ops+{time.monotonic_ns()}@acme.example"
    response = server.api(
        "POST",
        "/v1/accounts",
        json={
            "name": name,
            "email": email,
            "billing": {"legal_name": f"{name} Private Limited", "address": "MG Road, Pune", "country": "IN"},
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Tenant(account_id=body["account_id"], api_key=body["api_key"])


@pytest.fixture
def tenant(console_server: ConsoleServer) -> Tenant:
    return register(console_server)


def launch(playwright: Playwright, *extra_args: str) -> BrowserContext:
    """Chromium with a fresh profile directory (removed when the context closes)."""
    profile = tempfile.mkdtemp(prefix="closerr-chromium-")
    context = playwright.chromium.launch_persistent_context(
        profile,
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, *extra_args],
        viewport={"width": 1360, "height": 900},
        accept_downloads=True,
    )
    original_close = context.close

    def close(**kwargs: Any) -> None:
        original_close(**kwargs)
        shutil.rmtree(profile, ignore_errors=True)

    context.close = close  # type: ignore[method-assign]
    return context


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (apt-get install chromium; see scripts/apt-packages.txt)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser_context(playwright: Playwright) -> Iterator[BrowserContext]:
    context = launch(playwright)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(browser_context: BrowserContext) -> Iterator[Page]:
    # Each test starts signed out: no cookies carried over from the previous test.
    browser_context.clear_cookies()
    page = browser_context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        page.close()


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, server: ConsoleServer, tenant: Tenant) -> None:
    page.goto(server.base_url + "/console/login")
    page.fill("#api_key", tenant.api_key)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/campaigns")


__all__ = ["Browser", "ConsoleServer", "Tenant", "launch", "register", "screenshot", "sign_in"]
