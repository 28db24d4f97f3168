"""Dependencies shared by the routes: one database session (one transaction) per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.storage.db import Database


async def provide_session(state: State) -> AsyncIterator[AsyncSession]:
    """Commits when the handler returns, rolls back when it raises."""
    db = cast(Database, state.db)
    async with db.sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def provide_db(state: State) -> Database:
    return cast(Database, state.db)


# Explicit markers for injected parameters (Litestar 3 drops name-inferred injection).
Session = NamedDependency[AsyncSession]
Db = NamedDependency[Database]
