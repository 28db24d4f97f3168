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


def identifier_patterns(phone: int, name: str) -> dict[str, bytes]:
    """Every spelling in which a number or a name could sit in a file: text forms, and the big-endian integer
    encodings SQLite (6/8 bytes) uses for a BIGINT column."""
    national = str(phone)[-10:]
    pats = {
        "e164 digits": str(phone).encode(),
        "national": national.encode(),
        "spaced": f"{national[:5]} {national[5:]}".encode(),
        "int48": phone.to_bytes(6, "big"),
        "int64": phone.to_bytes(8, "big"),
    }
    for part in name.split():
        pats[f"name part {part}"] = part.encode()
    pats["name utf16"] = name.encode("utf-16-le")
    return pats


def find_identifiers(blobs: dict[str, bytes], phone: int, name: str) -> list[str]:
    hits = []
    for where, blob in blobs.items():
        for label, pat in identifier_patterns(phone, name).items():
            if pat in blob:
                hits.append(f"{label} in {where}")
    return hits


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def pg_dump(server: PostgresServer, url: str) -> bytes:
    import subprocess

    from sqlalchemy.engine import make_url

    u = make_url(url)
    out = subprocess.run(
        [
            str(server.bin_dir / "pg_dump"),
            "-h",
            "127.0.0.1",
            "-p",
            str(server.port),
            "-U",
            server.user,
            "--no-owner",
            str(u.database),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out.stdout
