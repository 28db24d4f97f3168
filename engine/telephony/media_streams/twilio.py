"""Twilio Media Streams (bidirectional): base64 8 kHz mu-law; ``mark`` echoes tell what the caller heard."""

from __future__ import annotations

from typing import Any

from engine.telephony.media_streams.base import (
    MULAW_8K,
    CarrierProtocol,
    MediaFormat,
    ProtocolError,
    ProtocolEvent,
    UnsupportedMedia,
    encoding_name,
    rate_value,
)


class TwilioProtocol(CarrierProtocol):
    name = "twilio"

    def _on_start(self, message: dict[str, Any]) -> list[ProtocolEvent]:
        start = message.get("start")
        if not isinstance(start, dict):
            raise ProtocolError("'start' without a start object")
        fmt = start.get("mediaFormat") or {}
        if isinstance(fmt, dict):
            if fmt.get("encoding", "audio/x-mulaw") != "audio/x-mulaw":
                raise UnsupportedMedia(f"unsupported encoding {encoding_name(fmt.get('encoding'))!r}")
            rate = rate_value(fmt.get("sampleRate"), "mediaFormat.sampleRate") or MULAW_8K.sample_rate
            self._negotiate(MediaFormat("mulaw", rate), frozenset({MULAW_8K}))
        stream_id = start.get("streamSid") or message.get("streamSid")
        return self._start(stream_id, start.get("callSid"), start.get("customParameters"))

    def _dispatch(self, event: str, message: dict[str, Any]) -> list[ProtocolEvent]:
        media = message.get("media")
        if (
            event == "media"
            and isinstance(media, dict)
            and media.get("track", "inbound") not in ("inbound", "inbound_track")
        ):
            self._require_streaming(event)
            return []  # the outbound track echoed back: not the caller's voice
        return super()._dispatch(event, message)

    def media(self, pcm16: bytes) -> str:
        payload = self._b64(self._encode(pcm16))
        return self._json({"event": "media", "streamSid": self.stream_id, "media": {"payload": payload}})

    def mark(self, name: str) -> str:
        return self._json({"event": "mark", "streamSid": self.stream_id, "mark": {"name": name}})

    def clear(self) -> str:
        return self._json({"event": "clear", "streamSid": self.stream_id})
