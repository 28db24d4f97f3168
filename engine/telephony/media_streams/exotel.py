"""Exotel Voicebot (bidirectional) streams: base64 16-bit PCM ("slin"), snake_case ids, chunked outbound audio.

The stream's rate is negotiated on the applet: 8000 (default), 16000 or 24000 Hz, given as ``?sample-rate=`` on the
stream URL and reported in ``start.media_format.sample_rate`` (a string in Exotel's example). Outbound ``media``
payloads follow Exotel's chunk rule (``framing.EXOTEL_CHUNKS``).
https://developer.exotel.com/docs/agentstream/stream-voicebot-applet
https://developer.exotel.com/docs/agentstream/websocket-protocol
"""

from __future__ import annotations

from typing import Any

from engine.telephony.media_streams.base import (
    L16_8K,
    CarrierProtocol,
    MediaFormat,
    ProtocolError,
    ProtocolEvent,
    UnsupportedMedia,
    encoding_name,
    rate_value,
)
from engine.telephony.media_streams.framing import EXOTEL_CHUNKS

SUPPORTED = frozenset({L16_8K, MediaFormat("l16", 16000), MediaFormat("l16", 24000)})
# Names Exotel's pages give the 16-bit PCM stream: "audio/x-raw" in the start example, "base64"/"raw/slin" in the
# applet guide, "audio/L16" in the (beta) media-format option. Its beta mu-law option is refused: the chunk rule
# is written for 16-bit PCM payloads.
_PCM_NAMES = frozenset({"", "base64", "audio/x-raw", "raw", "slin", "raw/slin", "audio/l16", "audio/x-l16", "pcm"})


class ExotelProtocol(CarrierProtocol):
    name = "exotel"
    default_format = L16_8K
    chunk_rule = EXOTEL_CHUNKS

    def _on_start(self, message: dict[str, Any]) -> list[ProtocolEvent]:
        start = message.get("start")
        if not isinstance(start, dict):
            raise ProtocolError("'start' without a start object")
        stream_id = start.get("stream_sid") or message.get("stream_sid")
        custom = start.get("custom_parameters")
        self._negotiate(self._format(start.get("media_format"), custom), SUPPORTED)
        return self._start(stream_id, start.get("call_sid"), custom)

    def _format(self, media_format: Any, custom: Any) -> MediaFormat:
        fmt = media_format if isinstance(media_format, dict) else {}
        encoding = encoding_name(fmt.get("encoding"))
        if encoding not in _PCM_NAMES:
            raise UnsupportedMedia(f"unsupported encoding {encoding!r}")
        # The start message says what is streamed; the URL's ``sample-rate`` is what was asked for, used when the
        # start message does not say (it may also come back among the custom parameters).
        rate = rate_value(fmt.get("sample_rate"), "media_format.sample_rate")
        if rate is None:
            asked = self.query.get("sample-rate") or (custom.get("sample-rate") if isinstance(custom, dict) else None)
            rate = rate_value(asked, "sample-rate")
        return MediaFormat("l16", rate or self.default_format.sample_rate)

    def media(self, pcm16: bytes) -> str:
        return self._json({"event": "media", "stream_sid": self.stream_id, "media": {"payload": self._b64(pcm16)}})

    def mark(self, name: str) -> str:
        return self._json({"event": "mark", "stream_sid": self.stream_id, "mark": {"name": name}})

    def clear(self) -> str:
        return self._json({"event": "clear", "stream_sid": self.stream_id})
