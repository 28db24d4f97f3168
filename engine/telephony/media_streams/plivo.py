"""Plivo audio streams (bidirectional): ``checkpoint`` / ``playedStream`` for playout.

Wire form, as Plivo's Audio Streaming Protocol Reference documents it
(https://www.plivo.com/docs/voice-agents/audio-streaming/concepts/audio-streaming-reference): Plivo sends ``start``
(ids in ``start.callId`` / ``start.streamId``, the ``<Stream extraHeaders>`` as the top-level string
``extra_headers``), ``media``, ``dtmf``, ``playedStream`` and ``clearedAudio``, and closes the socket at the end
(no ``stop`` event is documented; one is still read as the end). We send ``playAudio`` (no stream id),
``checkpoint`` and ``clearAudio``.

The ``<Stream contentType>`` negotiates the media: ``audio/x-mulaw`` at 8000 Hz or ``audio/x-l16`` at 8000 or
16000 Hz (Plivo's default is ``audio/x-l16;rate=8000``; the dialer asks for mu-law). ``start.mediaFormat`` reports it
and ``playAudio`` answers in the same format, since Plivo does not support switching codecs within a stream.
https://www.plivo.com/docs/voice/xml/the-stream-element
https://www.plivo.com/docs/voice/concepts/audio-streaming
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import unquote

from engine.directory import STREAM_TOKEN_PARAMETER
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

# Plivo allows only letters and digits in extraHeaders, so our parameter names travel without underscores.
HEADER_NAMES = {"call_id": "callid", STREAM_TOKEN_PARAMETER: "streamtoken"}
_PARAMETER_NAMES = {header: name for name, header in HEADER_NAMES.items()}
# The checkpoint acknowledgement: ``playedStream`` in the protocol reference, ``played`` in Plivo's support article
# "How do I know if the buffered audio is played?".
PLAYED_EVENTS = frozenset({"playedStream", "played"})


def _plain(text: str) -> bool:
    return text.isascii() and text.isalnum()


def format_extra_headers(parameters: Mapping[str, str]) -> str:
    """The ``<Stream extraHeaders>`` value carrying ``parameters``: ``"k1=v1;k2=v2"`` of letters and digits only.
    A UUID call id loses its hyphens (the engine takes both forms); anything else not plain is refused."""
    pairs = []
    for name, value in parameters.items():
        key, plain = HEADER_NAMES.get(name, name), value.replace("-", "")
        if not _plain(key) or not _plain(plain):
            raise ValueError(f"Plivo extraHeaders allow only letters and digits: {name!r}")
        pairs.append(f"{key}={plain}")
    return ";".join(pairs)


def extra_headers(value: Any) -> dict[str, str]:
    """The ``<Stream extraHeaders>`` pairs as the ``start`` event carries them: Plivo documents a string of
    ``key=value`` pairs (``"k1=v1;k2=v2"``, also seen comma-separated and in braces); a JSON object is taken too.
    Values are percent-decoded, as Plivo's Audio Streaming Guide parses them. Our own header names come back as the
    engine's parameter names."""
    if isinstance(value, dict):
        raw = {str(k): str(v) for k, v in value.items()}
    elif isinstance(value, str):
        raw = {}
        for item in value.strip().strip("{}").replace(",", ";").split(";"):
            key, sep, val = item.partition("=")
            if sep and key.strip():
                raw[key.strip()] = unquote(val.strip())
    else:
        return {}
    return {_PARAMETER_NAMES.get(key, key): val for key, val in raw.items()}


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
        if event in PLAYED_EVENTS:
            name = message.get("name")
            if not isinstance(name, str):
                raise ProtocolError(f"'{event}' without a name")
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
        return self._json({"event": "playAudio", "media": media})

    def mark(self, name: str) -> str:
        return self._json({"event": "checkpoint", "streamId": self.stream_id, "name": name})

    def clear(self) -> str:
        return self._json({"event": "clearAudio", "streamId": self.stream_id})
