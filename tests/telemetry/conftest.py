"""Fixtures for the telemetry tests: our metrics server (2 uvicorn workers in multiprocess mode) and a real
Prometheus scraping it. Both run on 127.0.0.1 for the whole session and are stopped at its end."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.telemetry.processes import Process, free_port, http_ok
from tests.telemetry.prometheus_server import PrometheusServer

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules" / "closerr-alerts.yml"


@dataclass
class MetricsServer:
    url: str
    host_port: str
    multiproc_dir: Path
    process: Process

    def total(self, sample_name: str, **labels: str) -> float:
        """What ``sum(sample_name{labels})`` is on the server right now, read from its own /metrics: the
        baseline for tests sharing the session's server."""
        body = httpx.get(f"{self.url}/metrics", timeout=10).text
        return sum(
            sample.value
            for family in text_string_to_metric_families(body)
            for sample in family.samples
            if sample.name == sample_name and labels.items() <= sample.labels.items()
        )


@pytest.fixture(scope="session")
def metrics_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetricsServer]:
    """tests/telemetry/metrics_app.py under uvicorn with 2 worker processes sharing PROMETHEUS_MULTIPROC_DIR, so a
    scrape of either worker must show the calls recorded by both."""
    workdir = tmp_path_factory.mktemp("metrics-server")
    multiproc_dir = workdir / "prom-multiproc"
    multiproc_dir.mkdir()
    port = free_port()
    process = Process(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.telemetry.metrics_app:app",
            "--host=127.0.0.1",
            f"--port={port}",
            "--workers=2",
            "--log-level=warning",
        ],
        env={"PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir)},
        log=workdir / "server.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_until(lambda: http_ok(f"{url}/metrics"), "metrics server", timeout_s=60)
        yield MetricsServer(url=url, host_port=f"127.0.0.1:{port}", multiproc_dir=multiproc_dir, process=process)
    finally:
        process.stop()


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory, metrics_server: MetricsServer) -> Iterator[PrometheusServer]:
    server = PrometheusServer(
        tmp_path_factory.mktemp("prometheus"),
        jobs={"closerr-workers": [metrics_server.host_port]},
        rule_files=[RULES],
    )
    try:
        server.wait_for_first_scrapes("closerr-workers", targets=1)
        yield server
    finally:
        server.stop()
