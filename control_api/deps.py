"""Dependencies shared by the routes: one database session (one transaction) per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.storage.db import Database, session_scope


async def provide_session(state: State) -> AsyncIterator[AsyncSession]:
    """Commits when the handler returns, rolls back when it raises (Litestar throws the handler's exception in
    here)."""
    async with session_scope(cast(Database, state.db)) as session:
        yield session


def provide_db(state: State) -> Database:
    return cast(Database, state.db)


# Explicit markers for injected parameters (Litestar 3 drops name-inferred injection).
Session = NamedDependency[AsyncSession]
Db = NamedDependency[Database]
