"""Start ``closerr worker`` processes on loopback for the multi-worker tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine.simulator.run import free_port, wait_healthy


def start_workers(names: list[str], env: dict[str, str], log_dir: Path) -> list[tuple[subprocess.Popen[bytes], str]]:
    """Start them all at once (their imports and model loads overlap), then wait until each is healthy."""
    started = [spawn_worker(name, env, log_dir) for name in names]
    for process, base in started:
        wait_healthy(base, timeout_s=180, process=process)
    return started


def spawn_worker(name: str, env: dict[str, str], log_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (log_dir / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "closerr.cli", "worker", "--port", str(port), "--id", name],
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
