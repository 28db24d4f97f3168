"""Plivo audio streams (bidirectional): base64 8 kHz mu-law; ``checkpoint`` / ``playedStream`` for playout."""

from __future__ import annotations

from typing import Any

from engine.audio.g711 import ulaw_decode, ulaw_encode
from engine.telephony.media_streams.base import CarrierProtocol, Mark, ProtocolError, ProtocolEvent


def extra_headers(value: Any) -> dict[str, str]:
    """The ``<Stream extraHeaders>`` pairs as the ``start`` event carries them: Plivo documents a string of
    ``key=value`` pairs (``"k1=v1;k2=v2"``, also seen comma-separated and in braces); a JSON object is taken too."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if not isinstance(value, str):
        return {}
    pairs: dict[str, str] = {}
    for item in value.strip().strip("{}").replace(",", ";").split(";"):
        key, sep, val = item.partition("=")
        if sep and key.strip():
            pairs[key.strip()] = val.strip()
    return pairs


class PlivoProtocol(CarrierProtocol):
    name = "plivo"

    def _on_start(self, message: dict[str, Any]) -> list[ProtocolEvent]:
        start = message.get("start")
        if not isinstance(start, dict):
            raise ProtocolError("'start' without a start object")
        stream_id = start.get("streamId") or message.get("streamId")
        return self._start(stream_id, start.get("callId"), extra_headers(message.get("extra_headers")))

    def _decode(self, payload: bytes) -> bytes:
        return ulaw_decode(payload)

    def _on_other(self, event: str, message: dict[str, Any]) -> list[ProtocolEvent]:
        if event == "playedStream":
            name = message.get("name")
            if not isinstance(name, str):
                raise ProtocolError("'playedStream' without a name")
            return [Mark(name)]
        if event == "clearedAudio":
            return []
        raise ProtocolError(f"unknown event {event!r}")

    def media(self, pcm16: bytes) -> str:
        media = {"contentType": "audio/x-mulaw", "sampleRate": 8000, "payload": self._b64(ulaw_encode(pcm16))}
        return self._json({"event": "playAudio", "streamId": self.stream_id, "media": media})

    def mark(self, name: str) -> str:
        return self._json({"event": "checkpoint", "streamId": self.stream_id, "name": name})

    def clear(self) -> str:
        return self._json({"event": "clearAudio", "streamId": self.stream_id})
