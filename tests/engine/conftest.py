"""An engine server in its own process, as in production: the tests are its callers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.simulator.run import free_port, wait_healthy

ARTIFACTS = Path("test-artifacts")
# The engine server's data directory: the calls a test asks to record are written under its audio/.
ENGINE_DATA = ARTIFACTS / "engine-data"
RECORDINGS = ENGINE_DATA / "audio"


@pytest.fixture(scope="session")
def engine_url() -> Iterator[str]:
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.rmtree(ENGINE_DATA, ignore_errors=True)
    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        # Short silence timeout so the re-prompt/hang-up test does not wait 14 s.
        "CLOSERR_LEAD_SILENCE_TIMEOUT_S": "3",
        "CLOSERR_DATA_DIR": str(ENGINE_DATA.resolve()),
    }
    log = (ARTIFACTS / "engine-server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "closerr.engine_server", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, timeout_s=120, process=process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
