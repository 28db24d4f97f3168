"""Twilio Media Streams (bidirectional): base64 8 kHz mu-law; ``mark`` echoes tell what the caller heard."""

from __future__ import annotations

from typing import Any

from engine.audio.g711 import ulaw_decode, ulaw_encode
from engine.telephony.carriers.base import Audio, CarrierProtocol, Mark, ProtocolError, ProtocolEvent


class TwilioProtocol(CarrierProtocol):
    name = "twilio"

    def _dispatch(self, event: str, message: dict[str, Any]) -> list[ProtocolEvent]:
        if event == "connected":
            if self.state.value != "connecting":
                raise ProtocolError("'connected' after 'start'")
            return []
        if event == "start":
            start = message.get("start")
            if not isinstance(start, dict):
                raise ProtocolError("'start' without a start object")
            fmt = start.get("mediaFormat") or {}
            if isinstance(fmt, dict) and fmt.get("encoding", "audio/x-mulaw") != "audio/x-mulaw":
                raise ProtocolError(f"unsupported encoding {fmt.get('encoding')!r}")
            stream_id = start.get("streamSid") or message.get("streamSid")
            return self._start(stream_id, start.get("callSid"), start.get("customParameters"))
        if event == "media":
            self._require_streaming(event)
            media = message.get("media")
            if isinstance(media, dict) and media.get("track", "inbound") not in ("inbound", "inbound_track"):
                return []
            return [Audio(ulaw_decode(self._payload(media)))]
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
        return self._json(
            {
                "event": "media",
                "streamSid": self.stream_id,
                "media": {"payload": self._b64(ulaw_encode(pcm16))},
            }
        )

    def mark(self, name: str) -> str:
        return self._json({"event": "mark", "streamSid": self.stream_id, "mark": {"name": name}})

    def clear(self) -> str:
        return self._json({"event": "clear", "streamSid": self.stream_id})
