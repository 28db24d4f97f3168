"""``closerr serve`` as a real process on 127.0.0.1 (uvicorn, real sockets), for the tests that need the whole
server: it answers its base URL once ``/health`` does, and afterwards its own log is watched for phone numbers and
names like the test process's (uvicorn's access lines included)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx

from tests.fixtures.log_leaks import leaks_in

# A hang guard for a server that never comes up (it loads the speech models in the background), not a measure.
START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_process(
    data_dir: Path,
    *,
    database_url: str | None = None,
    args: Sequence[str] = (),
    no_tracebacks: bool = False,
    **env: str,
) -> Iterator[str]:
    """Blocking: starts the server, yields its base URL. ``database_url`` None: the SQLite file in ``data_dir``.
    ``env`` adds ``CLOSERR_<NAME>`` variables (lower-case names: ``rate_limits="false"``)."""
    port = free_port()
    log_path = data_dir.parent / f"serve-{port}.log"
    variables = {
        **os.environ,
        "CLOSERR_WARM_PHONE_CACHE": "false",  # keeps the many short-lived test servers cheap
        **{f"CLOSERR_{k.upper()}": v for k, v in env.items()},
    }
    variables.pop("CLOSERR_DATABASE_URL", None)
    if database_url is not None:
        variables["CLOSERR_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "closerr.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    command += ["--log-level", "warning", *args]
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, env=variables, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"closerr serve exited: {log_path.read_text()}")
                try:
                    if httpx.get(f"{base}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"closerr serve did not come up in {START_TIMEOUT_S:.0f} s")
                time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    output = log_path.read_text()
    assert not (no_tracebacks and "Traceback" in output), output
    assert not leaks_in(output), leaks_in(output)[:5]


@asynccontextmanager
async def closerr_serve(
    database_url: str, data_dir: Path, *, no_tracebacks: bool = False, **env: str
) -> AsyncIterator[str]:
    """``serve_process`` for async tests: starting and stopping run off the event loop."""
    running = serve_process(data_dir, database_url=database_url, no_tracebacks=no_tracebacks, **env)
    base = await asyncio.to_thread(running.__enter__)
    try:
        yield base
    except BaseException as exc:
        if not await asyncio.to_thread(running.__exit__, type(exc), exc, exc.__traceback__):
            raise
    else:
        await asyncio.to_thread(running.__exit__, None, None, None)
