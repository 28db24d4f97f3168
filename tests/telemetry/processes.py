"""Starting and stopping the real programs the telemetry tests talk to: our servers, Prometheus, promtool."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def require_binary(name: str) -> str:
    """The path of a program installed by scripts/install.sh; a missing one fails the test, never skips it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: run scripts/install.sh (Debian package 'prometheus', scripts/apt-packages.txt)")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """A child process in its own session, so stopping it also stops the workers it forked."""

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, log: Path) -> None:
        self.log_path = log
        self._log = log.open("wb")
        self.popen = subprocess.Popen(
            list(argv),
            cwd=REPO_ROOT,
            env={**os.environ, **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def wait_until(self, ready: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                pytest.fail(f"{what} exited with {self.popen.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if ready():
                    return
            time.sleep(0.2)
        pytest.fail(f"{what} not ready after {timeout_s} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        self._log.close()


def http_ok(url: str) -> bool:
    return httpx.get(url, timeout=2.0).status_code == 200
