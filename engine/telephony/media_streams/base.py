"""The shape shared by carrier media-stream protocols: text messages in, events out; calls in, text out.

No sockets here. A protocol object is fed each WebSocket text message with ``receive`` and returns events; it
produces outbound messages as strings. It enforces the message order the carrier documents (nothing but
``connected`` before ``start``, nothing after ``stop``) and raises ``ProtocolError`` on anything malformed, so
the transport can end that one call with a clear reason.
"""

from __future__ import annotations

import base64
import binascii
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class ProtocolError(ValueError):
    """The peer sent something malformed or out of order; the call must end with this reason."""


@dataclass(frozen=True)
class Started:
    stream_id: str
    call_id: str
    custom: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Audio:
    pcm: bytes  # 16-bit PCM at 8 kHz


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
    sample_rate = 8000

    def __init__(self) -> None:
        self.state = State.CONNECTING
        self.stream_id: str | None = None

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

    @abstractmethod
    def _decode(self, payload: bytes) -> bytes:
        """Inbound media payload -> 16-bit PCM."""

    def _on_other(self, event: str, message: dict[str, Any]) -> list[ProtocolEvent]:
        """Carrier-specific events; the default knows Twilio/Exotel's ``mark``."""
        if event == "mark":
            mark = message.get("mark")
            if not isinstance(mark, dict) or not isinstance(mark.get("name"), str):
                raise ProtocolError("'mark' without a name")
            return [Mark(mark["name"])]
        raise ProtocolError(f"unknown event {event!r}")

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
