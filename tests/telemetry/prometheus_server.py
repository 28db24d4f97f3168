"""A real Prometheus server (Debian's ``prometheus`` package) on 127.0.0.1, scraping given targets every second."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.telemetry.processes import Process, free_port, http_ok, require_binary


class PrometheusServer:
    def __init__(self, workdir: Path, jobs: dict[str, list[str]], rule_files: list[Path] | None = None) -> None:
        binary = require_binary("prometheus")
        workdir.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [
                {"job_name": job, "metrics_path": "/metrics", "static_configs": [{"targets": targets}]}
                for job, targets in jobs.items()
            ],
        }
        if rule_files:
            config["rule_files"] = [str(path) for path in rule_files]
        config_path = workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = Process(
            [
                binary,
                f"--config.file={config_path}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            log=workdir / "prometheus.log",
        )
        self.process.wait_until(lambda: http_ok(f"{self.url}/-/ready"), "prometheus", timeout_s=60)

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query's result vector; a PromQL error fails the test with Prometheus's message."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5.0)
        body = response.json()
        if body.get("status") != "success":
            pytest.fail(f"query {promql!r} failed: {body.get('errorType')}: {body.get('error')}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def scalar(self, promql: str) -> float | None:
        """The single value of a one-element vector, or None when the vector is empty."""
        result = self.query(promql)
        if not result:
            return None
        assert len(result) == 1, f"{promql!r} returned {len(result)} series: {result}"
        return float(result[0]["value"][1])

    def wait_for(self, promql: str, done: Callable[[float | None], bool], timeout_s: float = 30.0) -> float | None:
        """Poll until ``done(value)`` (scrapes land every second) or the timeout; return the last value so the
        caller's assert shows what Prometheus had."""
        deadline = time.monotonic() + timeout_s
        value = self.scalar(promql)
        while not done(value) and time.monotonic() < deadline:
            time.sleep(0.5)
            value = self.scalar(promql)
        return value

    def wait_for_value(self, promql: str, expected: float, timeout_s: float = 30.0) -> float | None:
        return self.wait_for(promql, lambda value: value == expected, timeout_s)

    def targets_up(self, job: str) -> list[float]:
        return [float(item["value"][1]) for item in self.query(f'up{{job="{job}"}}')]

    def wait_for_first_scrapes(self, job: str, targets: int, timeout_s: float = 30.0) -> None:
        """Block until every target of ``job`` was scraped successfully. Prometheus hands discovered targets to
        its scrapers only every 5 s, so without this wait a test's first events could predate the first scrape
        and rate() would never see them."""
        up = self.wait_for(f'sum(up{{job="{job}"}})', lambda value: value == targets, timeout_s)
        if up != targets:
            pytest.fail(f"prometheus scraped {up} of {targets} {job} targets:\n{self.process.log_tail()}")

    def stop(self) -> None:
        self.process.stop()
