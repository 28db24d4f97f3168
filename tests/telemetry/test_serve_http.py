"""metrics.exposition.serve_http: /metrics from a thread for processes without a Litestar app."""

from __future__ import annotations

import httpx

from metrics import call
from metrics.exposition import serve_http
from tests.telemetry.processes import free_port


def test_serve_http_exposes_metrics_on_loopback() -> None:
    call.LEAD_SILENCE_TOTAL.inc()
    port = free_port()
    server, thread = serve_http(port)
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert response.status_code == 200
        assert "closerr_lead_silence_total" in response.text
        assert thread.daemon  # never keeps a finished worker alive
    finally:
        server.shutdown()
        server.server_close()
