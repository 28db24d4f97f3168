"""The control API server (``closerr serve``) exposes /metrics without an API key, in a format promtool accepts."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.telemetry.processes import Process, free_port, http_ok, require_binary


@pytest.fixture(scope="module")
def control_api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("control-api")
    port = free_port()
    closerr = str(Path(sys.executable).with_name("closerr"))
    process = Process(
        [closerr, "serve", "--port", str(port), "--data-dir", str(workdir / "data"), "--log-level", "warning"],
        env={"HF_HUB_OFFLINE": "1"},
        log=workdir / "serve.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_until(lambda: http_ok(f"{url}/metrics"), "closerr serve", timeout_s=90)
        time.sleep(0.6)  # a couple of loop-lag intervals
        yield url
    finally:
        process.stop()


def test_control_api_serves_metrics_without_an_api_key(control_api_url: str) -> None:
    response = httpx.get(f"{control_api_url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    for name in ("closerr_dispatch_total", "closerr_dnd_blocked_total", "closerr_credits_consumed_total"):
        assert f"# TYPE {name} counter" in response.text
    check = subprocess.run(
        [require_binary("promtool"), "check", "metrics"],
        input=response.content,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    # Its lifespan runs the event-loop lag monitor.
    lag_count = re.search(r"^closerr_event_loop_lag_seconds_count (\S+)$", response.text, re.MULTILINE)
    assert lag_count is not None and float(lag_count.group(1)) >= 1
    # The API itself still demands a key: /metrics is the only open door added here.
    assert httpx.get(f"{control_api_url}/v1/campaigns", timeout=10).status_code == 401
