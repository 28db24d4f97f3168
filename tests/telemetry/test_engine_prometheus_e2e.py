"""The real check against the real engine: a real Prometheus scrapes ``python -m closerr.engine_server`` while
``closerr simulate`` places calls through the carrier WebSocket path, and Prometheus's query API must show one
voice-to-voice observation per bot reply the call records list and one call per simulated call."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from metrics.labels import looks_like_phone_number
from tests.telemetry.processes import REPO_ROOT, Process, free_port, http_ok, require_binary
from tests.telemetry.prometheus_server import PrometheusServer

pytestmark = pytest.mark.e2e

JOB = "closerr-workers"
# Short conversations that end on their own; both have the engine reply at least once after the lead speaks.
PERSONAS = ["solar_callback.yaml", "car_wrong_person.yaml"]
SIMULATE_TIMEOUT_S = 300


class EngineServer:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = Process(
            [sys.executable, "-m", "closerr.engine_server", "--host", "127.0.0.1", "--port", str(self.port)],
            env={"HF_HUB_OFFLINE": "1", "CLOSERR_DATA_DIR": str(workdir / "data")},
            log=workdir / "engine.log",
        )
        self.process.wait_until(lambda: http_ok(f"{self.url}/health"), "engine server", timeout_s=120)

    def exposition(self) -> str:
        response = httpx.get(f"{self.url}/metrics", timeout=10)
        assert response.status_code == 200
        return response.text

    def total(self, sample_name: str, **labels: str) -> float:
        return sum(
            sample.value
            for family in text_string_to_metric_families(self.exposition())
            for sample in family.samples
            if sample.name == sample_name and labels.items() <= sample.labels.items()
        )


@pytest.fixture(scope="module")
def engine_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineServer]:
    server = EngineServer(tmp_path_factory.mktemp("engine"))
    try:
        yield server
    finally:
        server.process.stop()


@pytest.fixture(scope="module")
def engine_prometheus(
    tmp_path_factory: pytest.TempPathFactory, engine_server: EngineServer
) -> Iterator[PrometheusServer]:
    workdir = tmp_path_factory.mktemp("prometheus-engine")
    server = PrometheusServer(workdir, jobs={JOB: [f"127.0.0.1:{engine_server.port}"]})
    try:
        server.wait_for_first_scrapes(JOB, targets=1)
        yield server
    finally:
        server.stop()


def _simulate_concurrently(engine: EngineServer) -> list[dict[str, Any]]:
    """Run ``closerr simulate --json`` for every persona at once (so calls overlap, as in production)."""
    closerr = str(Path(sys.executable).with_name("closerr"))
    children = [
        subprocess.Popen(
            [closerr, "simulate", str(REPO_ROOT / "tests" / "personas" / name), "--json", "--url", engine.url],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in PERSONAS
    ]
    results = []
    for child in children:
        try:
            out, err = child.communicate(timeout=SIMULATE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            out, err = child.communicate()
        assert out.strip(), f"closerr simulate printed nothing (exit {child.returncode}):\n{err[-2000:]}"
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.fixture(scope="module")
def simulated_calls(engine_prometheus: PrometheusServer, engine_server: EngineServer) -> dict[str, Any]:
    before = {
        "calls": engine_server.total("closerr_calls_total"),
        "turns": engine_server.total("closerr_voice_to_voice_seconds_count"),
    }
    return {"before": before, "results": _simulate_concurrently(engine_server)}


def test_prometheus_counts_the_engines_calls_and_replies(
    engine_prometheus: PrometheusServer, simulated_calls: dict[str, Any]
) -> None:
    results: list[dict[str, Any]] = simulated_calls["results"]
    before: dict[str, float] = simulated_calls["before"]
    replies = sum(len(result["turns"]) for result in results)
    assert replies > 0, f"the simulated calls produced no bot replies: {[r.get('error') for r in results]}"

    calls = engine_prometheus.wait_for_value("sum(closerr_calls_total)", before["calls"] + len(results))
    assert calls == before["calls"] + len(results)
    v2v_count = engine_prometheus.wait_for_value("sum(closerr_voice_to_voice_seconds_count)", before["turns"] + replies)
    assert v2v_count == before["turns"] + replies
    # Each call is counted under the outcome its record reports.
    for outcome, expected in Counter(result["outcome"] for result in results).items():
        assert engine_prometheus.scalar(f'sum(closerr_calls_total{{outcome="{outcome}"}})') == expected
    assert engine_prometheus.scalar("sum(closerr_active_calls)") == 0
    # The engine's own v2v (what it observed) bounds the histogram's sum; the buckets see real latencies.
    engine_v2v = sum(t["engine_v2v_s"] for r in results for t in r["turns"] if t["engine_v2v_s"] is not None)
    v2v_sum = engine_prometheus.scalar("sum(closerr_voice_to_voice_seconds_sum)")
    assert v2v_sum is not None and abs(v2v_sum - engine_v2v) < 1e-3 * max(1.0, engine_v2v)
    assert engine_prometheus.targets_up(JOB) == [1.0]


def test_engine_exposition_passes_promtool_and_carries_no_personal_data(
    engine_server: EngineServer, simulated_calls: dict[str, Any]
) -> None:
    body = engine_server.exposition()
    promtool = require_binary("promtool")
    check = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=60, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    label_values = [
        value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        for value in sample.labels.values()
    ]
    assert [v for v in label_values if looks_like_phone_number(v)] == []
    # The personas' leads (names and numbers) called this engine; none of it may appear in the metrics.
    for name in PERSONAS:
        lead = yaml.safe_load((REPO_ROOT / "tests" / "personas" / name).read_text())["lead"]
        digits = "".join(ch for ch in lead["phone"] if ch.isdigit())
        assert digits[-10:] not in body
        for part in lead["name"].split():
            assert part not in body, f"{part!r} from a lead's record appears in /metrics"
