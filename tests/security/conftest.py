"""The security tests reuse the privacy tests' database fixtures (a migrated database on SQLite and on the
session's PostgreSQL server), and ``serve`` runs a real ``closerr serve`` process."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from tests.live_server import closerr_serve
from tests.privacy.conftest import backend, database_url, db  # noqa: F401

Serve = Callable[..., AbstractAsyncContextManager[str]]


@pytest.fixture
def serve(tmp_path: Path) -> Serve:
    """``closerr serve`` as a real process with extra ``CLOSERR_`` variables; answers its base URL."""

    def running(url: str, **env: str) -> AbstractAsyncContextManager[str]:
        return closerr_serve(url, tmp_path / "d", no_tracebacks=True, **env)

    return running
