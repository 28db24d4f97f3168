"""Alembic environment. The app runs ``upgrade heads`` at startup through ``Database.migrate`` (which passes
an open connection in ``config.attributes``); from a shell, set ``CLOSERR_DATABASE_URL`` and run
``alembic -c control_api/migrations/alembic.ini upgrade heads``."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import control_api.storage.all_tables  # noqa: F401  (registers every area's tables on Base.metadata)
from control_api.storage.db import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    # The app migrates through a connection it hands over; a URL is only for running Alembic by hand
    # (``alembic -x url=sqlite+aiosqlite:///data/closerr.sqlite3 upgrade heads``).
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("give the database: alembic -x url=<SQLAlchemy async URL> ...")
    return url


async def _run_from_url() -> None:
    from control_api.storage.db import create_database

    db = create_database(_url())
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await db.dispose()


connection = context.config.attributes.get("connection")
if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif connection is not None:
    _run(connection)
else:
    asyncio.run(_run_from_url())
