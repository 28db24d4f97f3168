"""The real check: a real Prometheus scrapes our server while simulated calls run, and its query API shows the
counts the calls produced. The server runs 2 worker processes in multiprocess mode, so the counts also prove the
workers' counters add up instead of overwriting each other."""

from __future__ import annotations

import httpx

from tests.telemetry.conftest import MetricsServer
from tests.telemetry.prometheus_server import PrometheusServer

CALLS = 4
TURNS_PER_CALL = 3


def _simulate(server: MetricsServer, **payload: object) -> None:
    response = httpx.post(f"{server.url}/simulate", json=payload, timeout=10.0)
    assert response.status_code == 201, response.text


def test_prometheus_scrapes_calls_and_turns(prometheus: PrometheusServer, metrics_server: MetricsServer) -> None:
    # One call per request: uvicorn spreads them over both worker processes.
    for _ in range(CALLS):
        _simulate(metrics_server, calls=1, turns_per_call=TURNS_PER_CALL, voice_to_voice_s=0.7)
    _simulate(metrics_server, calls=1, turns_per_call=0, status="no_answer", outcome=None, duration_s=0)

    turns = prometheus.wait_for_value("sum(closerr_voice_to_voice_seconds_count)", CALLS * TURNS_PER_CALL)
    assert turns == CALLS * TURNS_PER_CALL
    completed = prometheus.wait_for_value(
        'sum(closerr_calls_total{status="completed",outcome="qualified"})', CALLS
    )
    assert completed == CALLS
    assert prometheus.scalar('sum(closerr_calls_total{status="no_answer",outcome="none"})') == 1
    assert prometheus.scalar("sum(closerr_calls_total)") == CALLS + 1
    # Every 0.7 s reply falls in the (0.6, 0.7] bucket, so the bucket counts locate it exactly.
    assert prometheus.scalar('sum(closerr_voice_to_voice_seconds_bucket{le="0.6"})') == 0
    assert prometheus.scalar('sum(closerr_voice_to_voice_seconds_bucket{le="0.7"})') == CALLS * TURNS_PER_CALL
    # Unanswered calls have no duration.
    assert prometheus.scalar("sum(closerr_call_duration_seconds_count)") == CALLS
    assert prometheus.scalar("sum(closerr_active_calls)") == 0
    assert prometheus.targets_up("closerr-workers") == [1.0]


def test_event_loop_lag_reaches_prometheus(prometheus: PrometheusServer, metrics_server: MetricsServer) -> None:
    # The server's lifespan runs metrics.loop_lag.monitor every 50 ms in each worker.
    count = prometheus.wait_for_value("sum(closerr_event_loop_lag_seconds_count) > 10", 0, timeout_s=1)
    if count is None:  # not yet 10 wakeups scraped: poll for any value above 10
        deadline_value = None
        for _ in range(40):
            deadline_value = prometheus.scalar("sum(closerr_event_loop_lag_seconds_count)")
            if deadline_value is not None and deadline_value > 10:
                break
            prometheus_sleep()
        count = deadline_value
    assert count is not None and count > 10
