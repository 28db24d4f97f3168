"""Fixtures of the control API tests: every API and storage test runs on SQLite and on a real PostgreSQL server
(started on 127.0.0.1 by ``tests/fixtures/postgres.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from config.settings import Settings
from control_api.app import create_app
from control_api.operator.service import create_operator
from control_api.storage.db import Database, create_database, session_scope
from tests.control_api.helpers import Tenant, register
from tests.live_server import closerr_serve

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'closerr.sqlite3'}"
    server = request.getfixturevalue("postgres_server")
    return str(server.create_database("ctl"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        api_max_body_bytes=64_000,
        upload_max_bytes=5_000_000,
        registry_import_max_bytes=5_000_000,
    )


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app, timeout=60) as c:
        yield c


@pytest.fixture
async def db(database_url: str, client: AsyncTestClient[Litestar]) -> AsyncIterator[Database]:
    """The app's database seen from the test (its own engine: the test client runs the app on another loop)."""
    database = create_database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def migrated_db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database without the HTTP app, for storage-level tests."""
    database = create_database(database_url)
    await database.migrate()
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def tenant(client: AsyncTestClient[Litestar]) -> Tenant:
    return await register(client, "acme")


@pytest.fixture
async def other_tenant(client: AsyncTestClient[Litestar]) -> Tenant:
    return await register(client, "globex")


@pytest.fixture
async def operator(db: Database) -> Tenant:
    """An operator (the platform's staff), made as ``closerr operator create`` makes one."""
    async with session_scope(db) as s:
        made = await create_operator(s, "Platform Ops", "ops@closerr.example.in")
    return Tenant(account_id=made.account_id, api_key=made.api_key, key_id=made.api_key_id)


@pytest.fixture
async def live_api(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """``closerr serve`` as a real process on 127.0.0.1 (uvicorn, real sockets); answers its base URL."""
    limits = {"upload_max_bytes": "5000000", "registry_import_max_bytes": "5000000"}
    async with closerr_serve(database_url, tmp_path / "data", **limits) as base:
        yield base
