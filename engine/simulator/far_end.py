"""The carrier's side of each media-stream protocol, as the simulator speaks it (the mirror image of
``engine.telephony.media_streams``): what the carrier sends, and how it reads what the engine sends back.

Each message has the fields, nesting and JSON types of the carrier's published examples (docs/sip.md links them;
tests/engine/carrier_docs holds them): Twilio's camelCase with string sequence numbers, Exotel's snake_case with
``media_format``, Plivo's ``extra_headers`` string and integer sequence numbers, and no ``stop`` from Plivo, which
documents none (its socket just closes)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from engine.audio.g711 import ulaw_decode, ulaw_encode
from engine.audio.resample import StreamResampler
from engine.telephony.media_streams.plivo import HEADER_NAMES, format_extra_headers

# Exotel's start names both parties; the simulator has no real numbers to give (and must not invent real ones).
SIMULATED_FROM = "+910000000000"
SIMULATED_TO = "+910000000001"


@dataclass(frozen=True)
class Inbound:
    """A message from the engine, as the far end understands it."""

    kind: str  # "media" | "mark" | "clear" | "other"
    pcm: bytes = b""
    name: str = ""


class FarEnd:
    """The simulated lead lives at 8 kHz; a far end streaming at another rate converts at this edge."""

    carrier = ""

    def __init__(self, stream_id: str, call_id: str, sample_rate: int = 8000) -> None:
        self.stream_id = stream_id
        self.call_id = call_id
        self.sample_rate = sample_rate
        self._up = StreamResampler(8000, sample_rate)
        self._down = StreamResampler(sample_rate, 8000)
        self._seq = 0

    def _next(self) -> str:
        self._seq += 1
        return str(self._seq)

    def opening(self, custom: dict[str, str]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def media(self, pcm: bytes, chunk: int) -> dict[str, Any]:
        raise NotImplementedError

    def mark_played(self, name: str) -> dict[str, Any]:
        raise NotImplementedError

    def cleared(self) -> list[dict[str, Any]]:
        return []

    def stop(self) -> dict[str, Any] | None:
        """The message announcing the lead hung up; None when the carrier just closes the socket."""
        raise NotImplementedError

    def read(self, message: dict[str, Any]) -> Inbound:
        raise NotImplementedError


class TwilioFarEnd(FarEnd):
    carrier = "twilio"

    def opening(self, custom: dict[str, str]) -> list[dict[str, Any]]:
        return [
            {"event": "connected", "protocol": "Call", "version": "1.0.0"},
            {
                "event": "start",
                "sequenceNumber": self._next(),
                "streamSid": self.stream_id,
                "start": {
                    "accountSid": "ACsimulator",
                    "streamSid": self.stream_id,
                    "callSid": f"CA{self.call_id}",
                    "tracks": ["inbound"],  # a bidirectional stream carries the caller's track only
                    "customParameters": custom,
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            },
        ]

    def media(self, pcm: bytes, chunk: int) -> dict[str, Any]:
        return {
            "event": "media",
            "sequenceNumber": self._next(),
            "streamSid": self.stream_id,
            "media": {
                "track": "inbound",
                "chunk": str(chunk),
                "timestamp": str(chunk * 20),
                "payload": base64.b64encode(ulaw_encode(pcm)).decode(),
            },
        }

    def mark_played(self, name: str) -> dict[str, Any]:
        return {"event": "mark", "sequenceNumber": self._next(), "streamSid": self.stream_id, "mark": {"name": name}}

    def stop(self) -> dict[str, Any]:
        stop = {"accountSid": "ACsimulator", "callSid": f"CA{self.call_id}"}
        return {"event": "stop", "sequenceNumber": self._next(), "stop": stop, "streamSid": self.stream_id}

    def read(self, message: dict[str, Any]) -> Inbound:
        event = message.get("event")
        if event == "media":
            return Inbound("media", pcm=ulaw_decode(base64.b64decode(message["media"]["payload"])))
        if event == "mark":
            return Inbound("mark", name=message["mark"]["name"])
        if event == "clear":
            return Inbound("clear")
        return Inbound("other")


class ExotelFarEnd(FarEnd):
    carrier = "exotel"

    def opening(self, custom: dict[str, str]) -> list[dict[str, Any]]:
        return [
            {"event": "connected"},
            {
                "event": "start",
                "sequence_number": int(self._next()),
                "stream_sid": self.stream_id,
                "start": {
                    "stream_sid": self.stream_id,
                    "call_sid": self.call_id,
                    "account_sid": "simulator",
                    "from": SIMULATED_FROM,
                    "to": SIMULATED_TO,
                    "custom_parameters": custom,
                    "media_format": {"encoding": "raw", "sample_rate": str(self.sample_rate), "bit_rate": "128"},
                },
            },
        ]

    def media(self, pcm: bytes, chunk: int) -> dict[str, Any]:
        return {
            "event": "media",
            "sequence_number": int(self._next()),
            "stream_sid": self.stream_id,
            "media": {
                "chunk": chunk,
                "timestamp": str(chunk * 20),
                "payload": base64.b64encode(self._up.process(pcm)).decode(),
            },
        }

    def mark_played(self, name: str) -> dict[str, Any]:
        mark = {"name": name}
        return {"event": "mark", "sequence_number": int(self._next()), "stream_sid": self.stream_id, "mark": mark}

    def stop(self) -> dict[str, Any]:
        stop = {"call_sid": self.call_id, "account_sid": "simulator", "reason": "callended"}
        return {"event": "stop", "sequence_number": int(self._next()), "stream_sid": self.stream_id, "stop": stop}

    def read(self, message: dict[str, Any]) -> Inbound:
        event = message.get("event")
        if event == "media":
            return Inbound("media", pcm=self._down.process(base64.b64decode(message["media"]["payload"])))
        if event == "mark":
            return Inbound("mark", name=message["mark"]["name"])
        if event == "clear":
            return Inbound("clear")
        return Inbound("other")


def plivo_extra_headers(custom: dict[str, str]) -> str:
    """The ``extra_headers`` string of a Plivo ``start``: for a dialed call, what the worker's answer XML writes into
    ``<Stream extraHeaders>`` (letters and digits). A developer's ad-hoc stream also sends its lead and script, which
    no real Plivo stream could carry: those values go percent-encoded, the way Plivo's guide decodes them."""
    if set(custom) <= set(HEADER_NAMES):
        return format_extra_headers(custom)
    return ";".join(f"{HEADER_NAMES.get(k, k)}={quote(v, safe='')}" for k, v in custom.items())


class PlivoFarEnd(FarEnd):
    carrier = "plivo"

    def __init__(self, stream_id: str, call_id: str, sample_rate: int = 8000) -> None:
        super().__init__(stream_id, call_id, sample_rate)
        self._headers = ""

    def opening(self, custom: dict[str, str]) -> list[dict[str, Any]]:
        self._headers = plivo_extra_headers(custom)
        start = {
            "callId": self.call_id,
            "streamId": self.stream_id,
            "accountId": "MAsimulator",
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
        }
        return [{"event": "start", "sequenceNumber": int(self._next()), "start": start, "extra_headers": self._headers}]

    def media(self, pcm: bytes, chunk: int) -> dict[str, Any]:
        return {
            "event": "media",
            "sequenceNumber": int(self._next()),
            "streamId": self.stream_id,
            "media": {
                "track": "inbound",
                "timestamp": str(chunk * 20),
                "chunk": chunk,
                "payload": base64.b64encode(ulaw_encode(pcm)).decode(),
            },
            "extra_headers": self._headers,
        }

    def mark_played(self, name: str) -> dict[str, Any]:
        return {"event": "playedStream", "sequenceNumber": int(self._next()), "streamId": self.stream_id, "name": name}

    def cleared(self) -> list[dict[str, Any]]:
        return [{"event": "clearedAudio", "sequenceNumber": int(self._next()), "streamId": self.stream_id}]

    def stop(self) -> None:
        return None

    def read(self, message: dict[str, Any]) -> Inbound:
        event = message.get("event")
        if event == "playAudio":
            return Inbound("media", pcm=ulaw_decode(base64.b64decode(message["media"]["payload"])))
        if event == "checkpoint":
            return Inbound("mark", name=message["name"])
        if event == "clearAudio":
            return Inbound("clear")
        return Inbound("other")


FAR_ENDS: dict[str, type[FarEnd]] = {"twilio": TwilioFarEnd, "exotel": ExotelFarEnd, "plivo": PlivoFarEnd}
