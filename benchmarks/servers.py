"""The two systems under test as server processes, and what the harness watches in them.

``closerr`` is the real engine (``python -m closerr.engine_server``); ``pipecat_baseline`` is the plain pipecat pipeline
(``python -m benchmarks.pipecat_baseline``). Both answer ``/health``, ``/media/twilio`` and
``/engine/calls/{id}``, so the same caller and the same record fetching serve both. ``ResourceSampler`` follows a
server's resident memory and CPU time with psutil while calls run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from engine.simulator.run import fetch_record, free_port, wait_healthy

SYSTEMS = ("closerr", "pipecat_baseline")
MODULES = {"closerr": "closerr.engine_server", "pipecat_baseline": "benchmarks.pipecat_baseline"}


def engine_cpus() -> set[int]:
    """Cores the servers may use: all but the caller's core when there are three or more; otherwise all (the
    caller then shares a core, at a higher priority, and its CPU use is reported so it can be accounted for)."""
    cpus = sorted(os.sched_getaffinity(0))
    return set(cpus[:-1]) if len(cpus) >= 3 else set(cpus)


@dataclass
class Server:
    system: str
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/media/twilio"

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_mb(self) -> float:
        return psutil.Process(self.pid).memory_info().rss / 2**20

    def cpu_s(self) -> float:
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def records(self, call_ids: list[str], timeout_s: float = 15.0) -> dict[str, dict[str, Any] | None]:
        with ThreadPoolExecutor(max_workers=8) as pool:
            found = pool.map(lambda cid: fetch_record(self.base_url, cid, timeout_s), call_ids)
            return dict(zip(call_ids, found, strict=True))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_server(system: str, *, env: dict[str, str] | None = None, log_dir: Path | None = None) -> Server:
    """Start one system on a free loopback port and wait until it is healthy (models loaded)."""
    port = free_port()
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="closerr-bench-"))
    log_path = log_dir / f"{system}-{port}.log"
    cpus = engine_cpus()
    full_env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        # The sweep measures beyond the admission limit on purpose; the limit is tested on its own.
        "CLOSERR_MAX_CONCURRENT_CALLS": "100000",
        **(env or {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", MODULES[system], "--host", "127.0.0.1", "--port", str(port)],
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: os.sched_setaffinity(0, cpus),
        )
    base_url = f"http://127.0.0.1:{port}"
    server = Server(system, process, base_url, log_path)
    try:
        wait_healthy(base_url, timeout_s=120, process=process)
    except Exception:
        server.stop()
        raise RuntimeError(f"{system} did not start:\n{server.log_tail()}") from None
    return server


@dataclass
class ResourceSampler:
    """Samples a process's RSS every ``interval_s`` in a thread; peak and mean over the sampled window."""

    pid: int
    interval_s: float = 0.25
    samples: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> ResourceSampler:
        proc = psutil.Process(self.pid)

        def sample() -> None:
            while not self._stop.is_set():
                try:
                    self.samples.append(proc.memory_info().rss / 2**20)
                except psutil.Error:
                    return
                self._stop.wait(self.interval_s)

        self._thread = threading.Thread(target=sample, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    @property
    def peak_mb(self) -> float | None:
        return round(max(self.samples), 1) if self.samples else None

    @property
    def mean_mb(self) -> float | None:
        return round(sum(self.samples) / len(self.samples), 1) if self.samples else None


def settle(server: Server, seconds: float = 2.0) -> None:
    """Let a server finish tearing calls down before its idle memory is read."""
    deadline = time.monotonic() + 15
    if server.system == "closerr":
        import json
        import urllib.request

        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{server.base_url}/health", timeout=2) as response:
                    if json.loads(response.read()).get("active_calls", 0) == 0:
                        break
            except OSError:
                pass
            time.sleep(0.2)
    time.sleep(seconds)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
