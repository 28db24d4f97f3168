"""The shape shared by carrier media-stream protocols: text messages in, events out; calls in, text out.

No sockets here. A protocol object is fed each WebSocket text message with ``receive`` and returns events; it
produces outbound messages as strings. It enforces the message order the carrier documents (nothing but
``connected`` before ``start``, nothing after ``stop``) and raises ``ProtocolError`` on anything malformed, so
the transport can end that one call with a clear reason.

The ``start`` message fixes the stream's media format (encoding and sample rate); a format this engine cannot
serve raises ``UnsupportedMedia`` so the stream is refused rather than played at the wrong speed. Outbound audio
goes through ``frame_audio``/``frame_mark``/``frame_clear``, which apply the carrier's chunking rule (see
``framing``); ``media``/``mark``/``clear`` encode one message each.
"""

from __future__ import annotations

import base64
import binascii
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, Literal

from engine.audio.g711 import ulaw_decode, ulaw_encode
from engine.telephony.leg import frame_bytes
from engine.telephony.media_streams.framing import ChunkRule, OutboundFramer


class ProtocolError(ValueError):
    """The peer sent something malformed or out of order; the call must end with this reason."""


class UnsupportedMedia(ProtocolError):
    """The stream negotiated an encoding or sample rate this engine does not serve."""


@dataclass(frozen=True)
class MediaFormat:
    encoding: Literal["l16", "mulaw"]  # l16: 16-bit little-endian PCM
    sample_rate: int


MULAW_8K = MediaFormat("mulaw", 8000)
L16_8K = MediaFormat("l16", 8000)


def encoding_name(value: Any) -> str:
    """An encoding as carriers write it, lower-cased without parameters (``audio/x-l16;rate=8000``), cut short: it
    goes into the refusal's log line and is the peer's text."""
    return str(value or "").split(";")[0].strip().lower()[:40]


def rate_value(value: Any, what: str) -> int | None:
    """A sample rate as carriers write it (8000 or "8000"); None when absent."""
    if value is None or value == "":
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        raise UnsupportedMedia(f"{what} is not a sample rate") from None


@dataclass(frozen=True)
class Started:
    stream_id: str
    call_id: str
    custom: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Audio:
    pcm: bytes  # 16-bit PCM at the stream's sample rate


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class Mark:
    name: str


@dataclass(frozen=True)
class Stopped:
    reason: str = "stop"


ProtocolEvent = Started | Audio | Dtmf | Mark | Stopped

DTMF_DIGITS = frozenset("0123456789*#ABCD")
MAX_MEDIA_BYTES = 64_000  # 4 s of 8 kHz mu-law in one message is already far more than any carrier sends


class State(Enum):
    CONNECTING = "connecting"
    STREAMING = "streaming"
    STOPPED = "stopped"


class CarrierProtocol(ABC):
    name: str = ""
    # What the stream carries when ``start`` does not say; ``start`` replaces it with what was negotiated.
    default_format: ClassVar[MediaFormat] = MULAW_8K
    # How outbound audio must be cut into messages; None: one message per paced 20 ms frame.
    chunk_rule: ClassVar[ChunkRule | None] = None

    def __init__(self, query: dict[str, str] | None = None) -> None:
        """``query``: the stream URL's query parameters, where a carrier negotiates there (Exotel's
        ``sample-rate``)."""
        self.state = State.CONNECTING
        self.stream_id: str | None = None
        self.query = query or {}
        self.media_format = self.default_format
        self._framer = OutboundFramer(self.chunk_rule) if self.chunk_rule is not None else None

    @property
    def sample_rate(self) -> int:
        return self.media_format.sample_rate

    @property
    def hold_frames(self) -> int:
        """20 ms frames the outbound framing holds before a message leaves (1: none held)."""
        if self.chunk_rule is None:
            return 1
        return self.chunk_rule.hold_frames(frame_bytes(self.sample_rate))

    # -- inbound -------------------------------------------------------------------------------------------------
    def receive(self, text: str | bytes) -> list[ProtocolEvent]:
        if self.state is State.STOPPED:
            raise ProtocolError("message after stop")
        try:
            message = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ProtocolError(f"not JSON: {exc.msg if hasattr(exc, 'msg') else exc}") from exc
        if not isinstance(message, dict):
            raise ProtocolError("message is not a JSON object")
        event = message.get("event")
        if not isinstance(event, str):
            raise ProtocolError("missing 'event'")
        return self._dispatch(event, message)

    def _dispatch(self, event: str, message: dict[str, Any]) -> list[ProtocolEvent]:
        if event == "start":
            return self._on_start(message)
        if event == "connected" and self.state is State.CONNECTING:
            return []
        self._require_streaming(event)
        if event == "media":
            return [Audio(self._decode(self._payload(message.get("media"))))]
        if event == "dtmf":
            dtmf = message.get("dtmf")
            return self._digit(dtmf.get("digit") if isinstance(dtmf, dict) else None)
        if event == "stop":
            return self._stop()
        return self._on_other(event, message)

    @abstractmethod
    def _on_start(self, message: dict[str, Any]) -> list[ProtocolEvent]: ...

    def _decode(self, payload: bytes) -> bytes:
        """Inbound media payload -> 16-bit PCM."""
        if self.media_format.encoding == "mulaw":
            return ulaw_decode(payload)
        if len(payload) % 2:
            raise ProtocolError("odd-length 16-bit PCM payload")
        return payload

    def _encode(self, pcm16: bytes) -> bytes:
        """16-bit PCM -> the outbound media payload."""
        return ulaw_encode(pcm16) if self.media_format.encoding == "mulaw" else pcm16

    def _on_other(self, event: str, message: dict[str, Any]) -> list[ProtocolEvent]:
        """Carrier-specific events; the default knows Twilio/Exotel's ``mark``."""
        if event == "mark":
            mark = message.get("mark")
            if not isinstance(mark, dict) or not isinstance(mark.get("name"), str):
                raise ProtocolError("'mark' without a name")
            return [Mark(mark["name"])]
        raise ProtocolError(f"unknown event {event!r}")

    def _negotiate(self, fmt: MediaFormat, supported: frozenset[MediaFormat]) -> None:
        """Adopt ``fmt`` for this stream, or refuse it (before the call starts) with the reason."""
        if self.state is not State.CONNECTING:
            raise ProtocolError("second 'start'")
        if fmt not in supported:
            offered = ", ".join(f"{f.encoding}/{f.sample_rate}" for f in sorted(supported, key=str))
            raise UnsupportedMedia(
                f"unsupported media format {fmt.encoding} at {fmt.sample_rate} Hz (served: {offered})"
            )
        self.media_format = fmt

    def _require_streaming(self, event: str) -> None:
        if self.state is not State.STREAMING:
            raise ProtocolError(f"'{event}' before 'start'")

    def _start(self, stream_id: Any, call_id: Any, custom: Any) -> list[ProtocolEvent]:
        if self.state is not State.CONNECTING:
            raise ProtocolError("second 'start'")
        if not isinstance(stream_id, str) or not stream_id:
            raise ProtocolError("'start' without a stream id")
        self.state = State.STREAMING
        self.stream_id = stream_id
        params = {str(k): str(v) for k, v in custom.items()} if isinstance(custom, dict) else {}
        return [Started(stream_id, call_id if isinstance(call_id, str) else "", params)]

    def _stop(self) -> list[ProtocolEvent]:
        self.state = State.STOPPED
        return [Stopped()]

    @staticmethod
    def _payload(media: Any) -> bytes:
        if not isinstance(media, dict) or not isinstance(media.get("payload"), str):
            raise ProtocolError("media without a payload")
        payload: str = media["payload"]
        if len(payload) > MAX_MEDIA_BYTES * 4 // 3 + 4:
            raise ProtocolError("media payload too large")
        try:
            return base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ProtocolError("media payload is not base64") from exc

    @staticmethod
    def _digit(value: Any) -> list[ProtocolEvent]:
        if not isinstance(value, str) or value.upper() not in DTMF_DIGITS:
            raise ProtocolError(f"bad DTMF digit {value!r}")
        return [Dtmf(value.upper())]

    # -- outbound ------------------------------------------------------------------------------------------------
    def frame_audio(self, pcm16: bytes) -> list[str]:
        """The messages to send for ``pcm16`` (paced frames of the stream's rate) under the carrier's chunking
        rule: one per call without a rule, else none until a chunk is full."""
        if self._framer is None:
            return [self.media(pcm16)]
        return [self.media(chunk) for chunk in self._framer.push(pcm16)]

    def flush(self) -> list[str]:
        """What the framing holds, padded with silence to an allowed chunk (the end of an utterance, or speech
        that ran dry)."""
        if self._framer is None:
            return []
        return [self.media(chunk) for chunk in self._framer.flush()]

    def frame_mark(self, name: str) -> list[str]:
        """A mark after everything sent so far: the held tail goes out first, or the mark would come back before
        the lead heard it."""
        return [*self.flush(), self.mark(name)]

    def frame_clear(self) -> list[str]:
        """Barge-in: audio held here is dropped unsent, and the carrier is told to drop what it buffered."""
        if self._framer is not None:
            self._framer.drop()
        return [self.clear()]

    @property
    def held_bytes(self) -> int:
        return self._framer.held_bytes if self._framer is not None else 0

    @abstractmethod
    def media(self, pcm16: bytes) -> str: ...

    @abstractmethod
    def mark(self, name: str) -> str: ...

    @abstractmethod
    def clear(self) -> str: ...

    @staticmethod
    def _b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    @staticmethod
    def _json(message: dict[str, Any]) -> str:
        return json.dumps(message, separators=(",", ":"))
