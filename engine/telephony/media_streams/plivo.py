"""Plivo audio streams (bidirectional): ``checkpoint`` / ``playedStream`` for playout.

The ``<Stream contentType>`` negotiates the media: ``audio/x-mulaw`` at 8000 Hz or ``audio/x-l16`` at 8000 or
16000 Hz (Plivo's default is ``audio/x-l16;rate=8000``; the dialer asks for mu-law). ``start.mediaFormat`` reports it
and ``playAudio`` answers in the same format, since Plivo does not support switching codecs within a stream.
https://www.plivo.com/docs/voice/xml/the-stream-element
https://www.plivo.com/docs/voice/concepts/audio-streaming
"""

from __future__ import annotations

from typing import Any, Literal

from engine.telephony.media_streams.base import (
    L16_8K,
    MULAW_8K,
    CarrierProtocol,
    Mark,
    MediaFormat,
    ProtocolError,
    ProtocolEvent,
    UnsupportedMedia,
    encoding_name,
    rate_value,
)

SUPPORTED = frozenset({MULAW_8K, L16_8K, MediaFormat("l16", 16000)})
_ENCODINGS: dict[str, Literal["l16", "mulaw"]] = {"audio/x-mulaw": "mulaw", "audio/x-l16": "l16"}
_CONTENT_TYPES = {encoding: content_type for content_type, encoding in _ENCODINGS.items()}


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
        self._negotiate(self._format(start.get("mediaFormat")), SUPPORTED)
        return self._start(stream_id, start.get("callId"), extra_headers(message.get("extra_headers")))

    def _format(self, media_format: Any) -> MediaFormat:
        if not isinstance(media_format, dict):
            return self.default_format  # what the dialer's <Stream contentType> asks for
        name = encoding_name(media_format.get("encoding") or "audio/x-mulaw")
        encoding = _ENCODINGS.get(name)
        if encoding is None:
            raise UnsupportedMedia(f"unsupported encoding {name!r}")
        rate = rate_value(media_format.get("sampleRate"), "mediaFormat.sampleRate")
        return MediaFormat(encoding, rate or 8000)

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
        fmt = self.media_format
        media = {
            "contentType": _CONTENT_TYPES[fmt.encoding],
            "sampleRate": fmt.sample_rate,
            "payload": self._b64(self._encode(pcm16)),
        }
        return self._json({"event": "playAudio", "streamId": self.stream_id, "media": media})

    def mark(self, name: str) -> str:
        return self._json({"event": "checkpoint", "streamId": self.stream_id, "name": name})

    def clear(self) -> str:
        return self._json({"event": "clearAudio", "streamId": self.stream_id})
