"""``closerr serve`` as a real process on 127.0.0.1 (uvicorn, real sockets), for the tests that need the whole
server: it answers its base URL once ``/health`` does, and afterwards its own log is watched for phone numbers and
names like the test process's (uvicorn's access lines included)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.fixtures.log_leaks import leaks_in


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def closerr_serve(
    database_url: str, data_dir: Path, *, no_tracebacks: bool = False, **env: str
) -> AsyncIterator[str]:
    """``env`` adds ``CLOSERR_<NAME>`` variables (lower-case names: ``rate_limits="false"``)."""
    port = free_port()
    log_path = data_dir.parent / f"serve-{port}.log"
    variables = {
        **os.environ,
        "CLOSERR_DATABASE_URL": database_url,
        "CLOSERR_WARM_PHONE_CACHE": "false",  # keeps the many short-lived test servers cheap
        **{f"CLOSERR_{k.upper()}": v for k, v in env.items()},
    }
    command = [sys.executable, "-m", "closerr.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*command, "--log-level", "warning"], env=variables, stdout=log, stderr=subprocess.STDOUT
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
    assert not (no_tracebacks and "Traceback" in output), output
    assert not leaks_in(output), leaks_in(output)[:5]
