"""Declarative base, the async engine and session factory, and running the Alembic migrations.

SQLite (a file under the data directory) is the embedded default; PostgreSQL is selected by a
``postgresql+asyncpg://`` URL. Both go through the same models and the same migrations.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic migrations written on one backend replay on the other.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


@dataclass
class Database:
    """The engine and the session factory of one process; ``dialect`` is "sqlite" or "postgresql"."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def migrate(self) -> None:
        """``alembic upgrade heads``: every branch (other areas add their own) up to its newest revision."""
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade_heads)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers run while an upload commits; foreign keys are off by default in SQLite.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # Temp tables and sorts (upload staging) spill to disk: a 10M-row import must not live in RAM.
    cur.execute("PRAGMA temp_store=FILE")
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


def create_database(url: str, *, echo: bool = False) -> Database:
    """Build the engine for ``url``; creates the SQLite file's directory when needed."""
    parsed = make_url(url)
    # Bound parameters are phone numbers and names: keep them out of SQL echo and exception messages,
    # and silence aiosqlite, which logs every statement with its parameters at DEBUG.
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    return Database(engine=engine, sessions=sessions)


def alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade_heads(connection: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), "heads")


@asynccontextmanager
async def session_scope(db: Database) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error."""
    async with db.sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
