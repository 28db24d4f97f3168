"""The engine's admission limit: a media stream beyond ``max_concurrent_calls`` live calls is refused with 1013."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from closerr.settings import get_settings
from engine.records import CallRecord
from engine.server import engine_route_handlers, get_directory
from engine.directory import adhoc_request
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
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient[Litestar]]:
    monkeypatch.setattr(get_settings(), "max_concurrent_calls", 1)
    with TestClient(Litestar(route_handlers=engine_route_handlers())) as test_client:
        yield test_client


def _go_live(call_id: str) -> None:
    get_directory().started(adhoc_request({"call_id": call_id}), CallRecord(call_id=call_id))


def _end(call_id: str) -> None:
    get_directory().finished(CallRecord(call_id=call_id), None)


@pytest.fixture
def busy() -> Iterator[str]:
    """One call already live in the process's directory (the limit is 1)."""
    _go_live("already-live")
    yield "already-live"
    _end("already-live")


def test_stream_refused_at_the_limit(client: TestClient[Litestar], busy: str) -> None:
    with client.websocket_connect("/media/twilio") as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_text()
    assert closed.value.code == 1013
    assert get_directory().active_calls == 1  # the refused stream never became a call


def test_stream_refused_when_the_limit_filled_while_it_was_starting(
    client: TestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Admitted at connect, but another call went live while this stream waited for its start message."""
    directory = get_directory()
    original = WebSocketLeg.wait_started

    async def start_then_fill(self: WebSocketLeg) -> Any:
        started = await original(self)
        _go_live("won-the-race")
        return started

    monkeypatch.setattr(WebSocketLeg, "wait_started", start_then_fill)
    try:
        with client.websocket_connect("/media/twilio") as ws:
            ws.send_text(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            ws.send_text(json.dumps(START))
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
    finally:
        _end("won-the-race")
    assert closed.value.code == 1013
    assert directory.record("admission-test") is None
