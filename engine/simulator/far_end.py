"""The carrier's side of each media-stream protocol, as the simulator speaks it (the mirror image of
``engine.telephony.media_streams``): what the carrier sends, and how it reads what the engine sends back."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from engine.audio.g711 import ulaw_decode, ulaw_encode
from engine.audio.resample import StreamResampler


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

    def stop(self) -> dict[str, Any]:
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
                    "tracks": ["inbound", "outbound"],
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
        return {"event": "stop", "sequenceNumber": self._next(), "streamSid": self.stream_id, "stop": {}}

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
                "sequence_number": self._next(),
                "stream_sid": self.stream_id,
                "start": {
                    "stream_sid": self.stream_id,
                    "call_sid": self.call_id,
                    "account_sid": "simulator",
                    "custom_parameters": custom,
                    "media_format": {"encoding": "base64", "sample_rate": str(self.sample_rate), "bit_rate": "128kbps"},
                },
            },
        ]

    def media(self, pcm: bytes, chunk: int) -> dict[str, Any]:
        return {
            "event": "media",
            "sequence_number": self._next(),
            "stream_sid": self.stream_id,
            "media": {
                "chunk": str(chunk),
                "timestamp": str(chunk * 20),
                "payload": base64.b64encode(self._up.process(pcm)).decode(),
            },
        }

    def mark_played(self, name: str) -> dict[str, Any]:
        return {"event": "mark", "sequence_number": self._next(), "stream_sid": self.stream_id, "mark": {"name": name}}

    def stop(self) -> dict[str, Any]:
        return {"event": "stop", "sequence_number": self._next(), "stream_sid": self.stream_id, "stop": {}}

    def read(self, message: dict[str, Any]) -> Inbound:
        event = message.get("event")
        if event == "media":
            return Inbound("media", pcm=self._down.process(base64.b64decode(message["media"]["payload"])))
        if event == "mark":
            return Inbound("mark", name=message["mark"]["name"])
        if event == "clear":
            return Inbound("clear")
        return Inbound("other")


class PlivoFarEnd(FarEnd):
    carrier = "plivo"

    def opening(self, custom: dict[str, str]) -> list[dict[str, Any]]:
        return [
            {
                "event": "start",
                "sequenceNumber": int(self._next()),
                "start": {
                    "callId": self.call_id,
                    "streamId": self.stream_id,
                    "tracks": ["inbound"],
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
                },
                "extra_headers": custom,
            }
        ]

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
        }

    def mark_played(self, name: str) -> dict[str, Any]:
        return {"event": "playedStream", "sequenceNumber": int(self._next()), "streamId": self.stream_id, "name": name}

    def cleared(self) -> list[dict[str, Any]]:
        return [{"event": "clearedAudio", "sequenceNumber": int(self._next()), "streamId": self.stream_id}]

    def stop(self) -> dict[str, Any]:
        return {"event": "stop", "sequenceNumber": int(self._next()), "streamId": self.stream_id}

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
