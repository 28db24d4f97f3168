"""Exotel Voicebot (bidirectional) streams: base64 16-bit 8 kHz PCM ("slin"), snake_case ids."""

from __future__ import annotations

from typing import Any

from engine.telephony.media_streams.base import CarrierProtocol, ProtocolError, ProtocolEvent


class ExotelProtocol(CarrierProtocol):
    name = "exotel"

    def _on_start(self, message: dict[str, Any]) -> list[ProtocolEvent]:
        start = message.get("start")
        if not isinstance(start, dict):
            raise ProtocolError("'start' without a start object")
        stream_id = start.get("stream_sid") or message.get("stream_sid")
        return self._start(stream_id, start.get("call_sid"), start.get("custom_parameters"))

    def _decode(self, payload: bytes) -> bytes:
        if len(payload) % 2:
            raise ProtocolError("odd-length 16-bit PCM payload")
        return payload

    def media(self, pcm16: bytes) -> str:
        return self._json({"event": "media", "stream_sid": self.stream_id, "media": {"payload": self._b64(pcm16)}})

    def mark(self, name: str) -> str:
        return self._json({"event": "mark", "stream_sid": self.stream_id, "mark": {"name": name}})

    def clear(self) -> str:
        return self._json({"event": "clear", "stream_sid": self.stream_id})
