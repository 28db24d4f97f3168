"""The Grafana dashboard: it has the panels SREs need, names only metrics we expose, and every query runs on a
real Prometheus (the one scraping our server); the alert rules load and evaluate there too."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from metrics.exposition import render
from tests.telemetry.conftest import MetricsServer
from tests.telemetry.processes import REPO_ROOT
from tests.telemetry.prometheus_server import PrometheusServer

DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "closerr-dashboard.json"
REQUIRED_PANELS = [
    "voice-to-voice latency p50 / p95 / p99",
    "stage breakdown",
    "active calls",
    "call outcomes",
    "dispatch dispositions",
    "dnd blocks",
    "audio underruns",
    "event-loop lag",
]
# Grafana's variables, as Grafana would substitute them for a 1-minute window and "All" instances.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$instance": ".*"}


def _dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def _panels() -> list[dict[str, Any]]:
    return [panel for panel in _dashboard()["panels"] if panel["type"] != "row"]


def _expressions() -> list[str]:
    exprs = [target["expr"] for panel in _panels() for target in panel["targets"]]
    substituted = []
    for expr in exprs:
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        substituted.append(expr)
    return substituted


def test_dashboard_has_the_panels_sres_need() -> None:
    titles = [panel["title"].lower() for panel in _panels()]
    for required in REQUIRED_PANELS:
        assert any(required in title for title in titles), f"no panel for {required!r}"
    voice = next(p for p in _panels() if p["title"].lower().startswith("voice-to-voice"))
    assert [t["legendFormat"] for t in voice["targets"]] == ["p50", "p95", "p99"]
    assert all(p["datasource"]["uid"] == "${datasource}" for p in _panels())


def test_panels_do_not_overlap() -> None:
    cells: set[tuple[int, int]] = set()
    for panel in _dashboard()["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24
        mine = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not cells & mine, f"panel {panel['title']!r} overlaps another"
        cells |= mine


def test_dashboard_names_only_metrics_we_expose() -> None:
    exposed = {family.name for family in text_string_to_metric_families(render()[0].decode())}
    for expr in _expressions():
        for name in re.findall(r"\bcloserr_[a-z_]+", expr):
            base = re.sub(r"_(bucket|count|sum|total)$", "", name)
            assert base in exposed, f"{name} in {expr!r} is not a metric we expose"


def test_every_dashboard_query_runs_on_real_prometheus(
    prometheus: PrometheusServer, metrics_server: MetricsServer
) -> None:
    httpx.post(f"{metrics_server.url}/simulate", json={"calls": 2, "turns_per_call": 2}, timeout=10).raise_for_status()
    prometheus.wait_for("sum(closerr_voice_to_voice_seconds_count)", lambda value: value is not None and value >= 4)
    for expr in _expressions():
        prometheus.query(expr)  # fails the test with Prometheus's parse/eval error
    # Once rate() has two scrapes to work with, the headline panel shows a real percentile.
    p95 = _expressions()[1]
    value = prometheus.wait_for(p95, lambda v: v is not None and v == v, timeout_s=20)  # v == v: not NaN
    assert value is not None and 0 < value <= 10


def test_alert_rules_load_and_evaluate_on_real_prometheus(prometheus: PrometheusServer) -> None:
    def rules() -> list[dict[str, Any]]:
        body = httpx.get(f"{prometheus.url}/api/v1/rules", timeout=5).json()
        return [rule for group in body["data"]["groups"] for rule in group["rules"]]

    loaded = rules()
    assert {rule["name"] for rule in loaded} == {
        "CloserrVoiceToVoiceP95High",
        "CloserrAudioUnderruns",
        "CloserrEventLoopLagHigh",
        "CloserrCallErrorRateHigh",
        "CloserrWorkerDown",
        "CloserrDispatchStalled",
    }
    prometheus.wait_for("count(ALERTS) or vector(0)", lambda _: all(r.get("health") == "ok" for r in rules()), 15)
    assert [r["name"] for r in rules() if r.get("health") != "ok"] == []
