"""Fixtures of the privacy tests: a migrated database on both backends (SQLite file and the session's real
PostgreSQL server from tests/fixtures/postgres.py), and helpers that read the storage behind the app's back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from control_api.storage.db import Database, create_database
from tests.fixtures.postgres import PostgresServer


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'closerr.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database("closerr_privacy")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = create_database(database_url)
    await database.migrate()
    try:
        yield database
    finally:
        await database.dispose()
