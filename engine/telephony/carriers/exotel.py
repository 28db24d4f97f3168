"""Exotel Voicebot (bidirectional) streams: base64 16-bit 8 kHz PCM ("slin"), snake_case ids."""

from __future__ import annotations

from typing import Any

from engine.telephony.carriers.base import Audio, CarrierProtocol, Mark, ProtocolError, ProtocolEvent


class ExotelProtocol(CarrierProtocol):
    name = "exotel"

    def _dispatch(self, event: str, message: dict[str, Any]) -> list[ProtocolEvent]:
        if event == "connected":
            return []
        if event == "start":
            start = message.get("start")
            if not isinstance(start, dict):
                raise ProtocolError("'start' without a start object")
            stream_id = start.get("stream_sid") or message.get("stream_sid")
            return self._start(stream_id, start.get("call_sid"), start.get("custom_parameters"))
        if event == "media":
            self._require_streaming(event)
            pcm = self._payload(message.get("media"))
            if len(pcm) % 2:
                raise ProtocolError("odd-length 16-bit PCM payload")
            return [Audio(pcm)]
        if event == "mark":
            self._require_streaming(event)
            mark = message.get("mark")
            if not isinstance(mark, dict) or not isinstance(mark.get("name"), str):
                raise ProtocolError("'mark' without a name")
            return [Mark(mark["name"])]
        if event == "dtmf":
            self._require_streaming(event)
            dtmf = message.get("dtmf")
            return self._digit(dtmf.get("digit") if isinstance(dtmf, dict) else None)
        if event == "stop":
            self._require_streaming(event)
            return self._stop()
        raise ProtocolError(f"unknown event {event!r}")

    def media(self, pcm16: bytes) -> str:
        return self._json({"event": "media", "stream_sid": self.stream_id, "media": {"payload": self._b64(pcm16)}})

    def mark(self, name: str) -> str:
        return self._json({"event": "mark", "stream_sid": self.stream_id, "mark": {"name": name}})

    def clear(self) -> str:
        return self._json({"event": "clear", "stream_sid": self.stream_id})
