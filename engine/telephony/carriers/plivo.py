"""Plivo audio streams (bidirectional): base64 8 kHz mu-law; ``checkpoint`` / ``playedStream`` for playout."""

from __future__ import annotations

from typing import Any

from engine.audio.g711 import ulaw_decode, ulaw_encode
from engine.telephony.carriers.base import Audio, CarrierProtocol, Mark, ProtocolError, ProtocolEvent


class PlivoProtocol(CarrierProtocol):
    name = "plivo"

    def _dispatch(self, event: str, message: dict[str, Any]) -> list[ProtocolEvent]:
        if event == "start":
            start = message.get("start")
            if not isinstance(start, dict):
                raise ProtocolError("'start' without a start object")
            stream_id = start.get("streamId") or message.get("streamId")
            return self._start(stream_id, start.get("callId"), message.get("extra_headers"))
        if event == "media":
            self._require_streaming(event)
            return [Audio(ulaw_decode(self._payload(message.get("media"))))]
        if event == "playedStream":
            self._require_streaming(event)
            name = message.get("name")
            if not isinstance(name, str):
                raise ProtocolError("'playedStream' without a name")
            return [Mark(name)]
        if event == "clearedAudio":
            self._require_streaming(event)
            return []
        if event == "dtmf":
            self._require_streaming(event)
            dtmf = message.get("dtmf")
            return self._digit(dtmf.get("digit") if isinstance(dtmf, dict) else None)
        if event == "stop":
            self._require_streaming(event)
            return self._stop()
        raise ProtocolError(f"unknown event {event!r}")

    def media(self, pcm16: bytes) -> str:
        return self._json(
            {
                "event": "playAudio",
                "streamId": self.stream_id,
                "media": {
                    "contentType": "audio/x-mulaw",
                    "sampleRate": 8000,
                    "payload": self._b64(ulaw_encode(pcm16)),
                },
            }
        )

    def mark(self, name: str) -> str:
        return self._json({"event": "checkpoint", "streamId": self.stream_id, "name": name})

    def clear(self) -> str:
        return self._json({"event": "clearAudio", "streamId": self.stream_id})
