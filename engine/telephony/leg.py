"""A call's media leg: what every transport (carrier WebSocket, SIP/RTP, WebRTC, simulator) offers the pipeline.

The pipeline only ever sees 16-bit little-endian mono PCM at ``sample_rate`` in 20 ms frames, plus a few events.
Codecs, base64, RTP headers and carrier JSON stay inside the transport.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

FRAME_MS = 20


def frame_bytes(sample_rate: int) -> int:
    """Bytes in one 20 ms frame of 16-bit mono PCM."""
    return sample_rate * FRAME_MS // 1000 * 2


# -- what a leg delivers ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AudioIn:
    pcm: bytes  # one frame (or a few) of PCM16 at the leg's sample rate


@dataclass(frozen=True)
class DtmfIn:
    digit: str  # "0"-"9", "*", "#", "A"-"D"


@dataclass(frozen=True)
class MarkPlayed:
    """The far end has played everything sent before the mark called ``name``."""

    name: str


@dataclass(frozen=True)
class LegClosed:
    """The far end hung up or the transport failed. ``reason`` is for logs and the call record."""

    reason: str
    by_remote: bool = True


LegEvent = AudioIn | DtmfIn | MarkPlayed | LegClosed


@runtime_checkable
class MediaLeg(Protocol):
    """One call's media, seen from the engine. Implementations: carrier WebSocket streams, SIP/RTP, WebRTC."""

    @property
    def sample_rate(self) -> int:
        """Sample rate of the PCM exchanged with the pipeline: 8000 for telephony, or what a carrier stream
        negotiated in its start message (Exotel 16000/24000, Plivo 16000)."""
        ...

    @property
    def supports_marks(self) -> bool:
        """Whether ``send_mark`` gets ``MarkPlayed`` back (Twilio/Plivo/Exotel do; RTP does not)."""
        ...

    def events(self) -> AsyncIterator[LegEvent]:
        """Inbound events until (and including) ``LegClosed``."""
        ...

    async def send_audio(self, pcm: bytes) -> None:
        """Send one 20 ms frame now (several joined, for a ``GroupingLeg``); pacing is the caller's job (playout)."""
        ...

    async def send_mark(self, name: str) -> None: ...

    async def clear(self) -> None:
        """Drop audio the far end has buffered but not yet played (barge-in)."""
        ...

    async def hangup(self) -> None:
        """End the call from our side. Idempotent."""
        ...


@runtime_checkable
class ChunkingLeg(Protocol):
    """A leg whose carrier takes outbound audio only in chunks of several frames (Exotel's Voicebot applet)."""

    @property
    def hold_frames(self) -> int:
        """20 ms frames the leg holds before the first message of a chunk leaves (1: none held)."""
        ...

    async def flush(self) -> None:
        """Send what the leg holds now, padded with silence to a whole chunk."""
        ...


@runtime_checkable
class GroupingLeg(Protocol):
    """A leg that carries several paced frames in one outbound message, to a far end that queues what it is sent
    and plays it in order (carrier WebSockets: their ``clear`` empties that queue)."""

    @property
    def frames_per_message(self) -> int:
        """20 ms frames playout joins into one ``send_audio`` (1: each frame on its own)."""
        ...

    @property
    def lead_frames(self) -> int:
        """20 ms frames playout sends at once when speech starts, ahead of real time: a stall of the engine shorter
        than that leaves the far end still playing what it queued."""
        ...
