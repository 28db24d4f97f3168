"""The security tests reuse the privacy tests' database fixtures (a migrated database on SQLite and on the
session's PostgreSQL server), and ``serve`` runs a real ``closerr serve`` process."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.fixtures.log_leaks import leaks_in
from tests.privacy.conftest import backend, database_url, db  # noqa: F401

Serve = Callable[..., AbstractAsyncContextManager[str]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve(tmp_path: Path) -> Serve:
    """``closerr serve`` as a real process on 127.0.0.1 with extra ``CLOSERR_`` variables; answers its base URL."""

    @asynccontextmanager
    async def running(url: str, **env: str) -> AsyncIterator[str]:
        port = _free_port()
        log_path = tmp_path / f"serve-{port}.log"
        variables = {
            **os.environ,
            "CLOSERR_DATABASE_URL": url,
            "CLOSERR_WARM_PHONE_CACHE": "false",
            **{f"CLOSERR_{k.upper()}": v for k, v in env.items()},
        }
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "closerr.cli",
                    "serve",
                    "--port",
                    str(port),
                    "--data-dir",
                    str(tmp_path / "d"),
                    "--log-level",
                    "warning",
                ],
                env=variables,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            base = f"http://127.0.0.1:{port}"
            try:
                async with httpx.AsyncClient() as c:
                    for _ in range(300):
                        if proc.poll() is not None:
                            raise RuntimeError(f"closerr serve exited: {log_path.read_text()}")
                        try:
                            if (await c.get(f"{base}/health")).status_code == 200:
                                break
                        except httpx.TransportError:
                            pass
                        await asyncio.sleep(0.1)
                    else:
                        raise RuntimeError("closerr serve did not come up in 30 s")
                yield base
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        output = log_path.read_text()
        assert "Traceback" not in output, output
        # The server's own log (uvicorn's access lines included) is watched like the test process's.
        assert not leaks_in(output), leaks_in(output)[:5]

    return running
