"""metrics.litestar: the GET /metrics handler the control API and engine servers mount."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient

from metrics import turn
from metrics.litestar import metrics_endpoint, route_handlers


def test_get_metrics_serves_the_text_exposition() -> None:
    turn.observe_turn(voice_to_voice_s=0.5)
    with TestClient(Litestar(route_handlers=route_handlers)) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE closerr_voice_to_voice_seconds histogram" in response.text
    assert "closerr_voice_to_voice_seconds_count" in response.text


def test_metrics_is_read_only_and_out_of_the_api_schema() -> None:
    app = Litestar(route_handlers=[metrics_endpoint])
    with TestClient(app) as client:
        assert client.post("/metrics").status_code == 405
        schema = client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert "/metrics" not in schema.json().get("paths", {})
