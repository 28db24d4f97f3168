"""The engine's admission limit: a media stream beyond ``max_concurrent_calls`` live calls is refused with 1013."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from engine.directory import adhoc_request
from engine.facade import Engine, EngineConfig
from engine.records import CallRecord
from engine.telephony.ws_leg import WebSocketLeg

START = {
    "event": "start",
    "sequenceNumber": "1",
    "streamSid": "MZtest",
    "start": {
        "streamSid": "MZtest",
        "callSid": "CAtest",
        "tracks": ["inbound", "outbound"],
        "customParameters": {"call_id": "admission-test"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    },
}


@pytest.fixture
def engine() -> Engine:
    return Engine(EngineConfig(max_concurrent_calls=1), accept_adhoc_streams=True)


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient[Litestar]]:
    with TestClient(Litestar(route_handlers=engine.route_handlers())) as test_client:
        yield test_client


def _go_live(engine: Engine, call_id: str) -> None:
    engine.directory.started(adhoc_request({"call_id": call_id}), CallRecord(call_id=call_id))


def _end(engine: Engine, call_id: str) -> None:
    engine.directory.finished(CallRecord(call_id=call_id), None)


@pytest.fixture
def busy(engine: Engine) -> Iterator[str]:
    """One call already live in the engine's directory (the limit is 1)."""
    _go_live(engine, "already-live")
    yield "already-live"
    _end(engine, "already-live")


def test_stream_refused_at_the_limit(client: TestClient[Litestar], engine: Engine, busy: str) -> None:
    with client.websocket_connect("/media/twilio") as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_text()
    assert closed.value.code == 1013
    assert engine.active_calls == 1  # the refused stream never became a call


def test_stream_refused_when_the_limit_filled_while_it_was_starting(
    client: TestClient[Litestar], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Admitted at connect, but another call went live while this stream waited for its start message."""
    directory = engine.directory
    original = WebSocketLeg.wait_started

    async def start_then_fill(self: WebSocketLeg) -> Any:
        started = await original(self)
        _go_live(engine, "won-the-race")
        return started

    monkeypatch.setattr(WebSocketLeg, "wait_started", start_then_fill)
    try:
        with client.websocket_connect("/media/twilio") as ws:
            ws.send_text(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            ws.send_text(json.dumps(START))
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
    finally:
        _end(engine, "won-the-race")
    assert closed.value.code == 1013
    assert directory.record("admission-test") is None


@pytest.mark.parametrize("custom", [{"call_id": "nobody-dialed-this"}, {}, {"script": "{}", "policy": "llm"}])
def test_an_engine_refuses_streams_no_dispatcher_announced_by_default(custom: dict[str, str]) -> None:
    """Ad-hoc streams would run an AI call for anyone who connects: off unless the engine is built to accept them."""
    engine = Engine()
    start = {**START, "start": {**START["start"], "customParameters": custom}}  # type: ignore[dict-item]
    with (
        TestClient(Litestar(route_handlers=engine.route_handlers())) as client,
        client.websocket_connect("/media/twilio") as ws,
    ):
        ws.send_text(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        ws.send_text(json.dumps(start))
        with pytest.raises(WebSocketDisconnect):
            for _ in range(100):
                ws.receive_text()
    assert engine.active_calls == 0 and engine.directory.record(custom.get("call_id", "")) is None
