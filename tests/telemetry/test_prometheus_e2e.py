"""The real check: a real Prometheus scrapes our server while simulated calls run, and its query API shows the
counts the calls produced. The server runs 2 worker processes in multiprocess mode, so the counts also prove the
workers' counters add up instead of overwriting each other."""

from __future__ import annotations

import httpx

from tests.telemetry.conftest import MetricsServer
from tests.telemetry.prometheus_server import PrometheusServer

MIN_CALLS = 4
MAX_CALLS = 60
TURNS_PER_CALL = 3


def _simulate(server: MetricsServer, **payload: object) -> int:
    """Record calls in whichever worker accepts the connection; return that worker's pid."""
    response = httpx.post(f"{server.url}/simulate", json=payload, timeout=10.0)
    assert response.status_code == 201, response.text
    return int(response.json()["pid"])


def test_prometheus_scrapes_calls_and_turns(prometheus: PrometheusServer, metrics_server: MetricsServer) -> None:
    # The session's server is shared with other tests: count from what it held before.
    queries = {
        "turns": ("closerr_voice_to_voice_seconds_count", {}),
        "v2v_le_0_6": ("closerr_voice_to_voice_seconds_bucket", {"le": "0.6"}),
        "v2v_le_0_7": ("closerr_voice_to_voice_seconds_bucket", {"le": "0.7"}),
        "qualified": ("closerr_calls_total", {"status": "completed", "outcome": "qualified"}),
        "no_answer": ("closerr_calls_total", {"status": "no_answer", "outcome": "none"}),
        "calls": ("closerr_calls_total", {}),
        "durations": ("closerr_call_duration_seconds_count", {}),
    }
    before = {key: metrics_server.total(name, **labels) for key, (name, labels) in queries.items()}
    before_sum = metrics_server.total("closerr_voice_to_voice_seconds_sum")

    # One call per request (a new connection each), until both worker processes have recorded some.
    pids: set[int] = set()
    calls = 0
    while calls < MIN_CALLS or (len(pids) < 2 and calls < MAX_CALLS):
        pids.add(_simulate(metrics_server, calls=1, turns_per_call=TURNS_PER_CALL, voice_to_voice_s=0.65))
        calls += 1
    assert len(pids) == 2, "uvicorn never handed a request to the second worker"
    _simulate(metrics_server, calls=1, turns_per_call=0, status="no_answer", outcome=None, duration_s=0)

    def promql(key: str) -> str:
        name, labels = queries[key]
        selector = ",".join(f'{k}="{v}"' for k, v in labels.items())
        return f"sum({name}{{{selector}}})"

    expected = {
        "turns": before["turns"] + calls * TURNS_PER_CALL,
        "qualified": before["qualified"] + calls,
        "no_answer": before["no_answer"] + 1,
        "calls": before["calls"] + calls + 1,
        # Every 0.65 s reply falls in the (0.6, 0.7] bucket, so the bucket counts locate it exactly.
        "v2v_le_0_6": before["v2v_le_0_6"],
        "v2v_le_0_7": before["v2v_le_0_7"] + calls * TURNS_PER_CALL,
        # Unanswered calls have no duration.
        "durations": before["durations"] + calls,
    }
    # Wait for the scrape that carries the last call, then every count must match exactly.
    assert prometheus.wait_for_value(promql("calls"), expected["calls"]) == expected["calls"]
    got = {key: prometheus.scalar(promql(key)) for key in expected}
    assert got == expected
    assert prometheus.scalar("sum(closerr_active_calls)") == 0
    assert prometheus.targets_up("closerr-workers") == [1.0]
    v2v_sum = prometheus.scalar("sum(closerr_voice_to_voice_seconds_sum)")
    assert v2v_sum is not None
    assert abs(v2v_sum - before_sum - 0.65 * calls * TURNS_PER_CALL) < 1e-6


def test_event_loop_lag_reaches_prometheus(prometheus: PrometheusServer, metrics_server: MetricsServer) -> None:
    # The server's lifespan (metrics.litestar.loop_lag_lifespan) measures every 250 ms in each worker.
    wakeups = prometheus.wait_for(
        "sum(closerr_event_loop_lag_seconds_count)", lambda value: value is not None and value > 10
    )
    assert wakeups is not None and wakeups > 10
    assert prometheus.scalar("max(closerr_event_loop_lag_last_seconds)") is not None
