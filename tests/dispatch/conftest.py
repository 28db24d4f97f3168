"""Fixtures of the dispatch tests: a fresh SQLite file or a fresh PostgreSQL database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from control_api.storage.db import Database, create_database


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'closerr.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'closerr.sqlite3'}"
    server = request.getfixturevalue("postgres_server")
    return str(server.create_database("dispatch"))


@pytest.fixture
async def pg_url(postgres_server: object) -> str:
    return str(postgres_server.create_database("dispatch"))  # type: ignore[attr-defined]


async def open_db(url: str) -> Database:
    db = create_database(url)
    await db.migrate()
    return db


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await open_db(database_url)
    try:
        yield database
    finally:
        await database.dispose()
