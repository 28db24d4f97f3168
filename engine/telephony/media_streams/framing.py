"""Outbound framing: how a carrier wants the bot's paced audio cut into media messages.

Twilio and Plivo take any whole number of 20 ms frames in a message, so each frame leaves as it is paced. Exotel's
Voicebot applet wants payloads of at least 3,200 bytes and at most 100 KB, in multiples of 320 bytes; smaller
chunks distort and other sizes leave gaps (https://developer.exotel.com/docs/agentstream/stream-voicebot-applet).
The rule is in bytes of 16-bit PCM whatever the negotiated rate, so 3,200 bytes are 200 ms at 8 kHz, 100 ms at
16 kHz and 67 ms at 24 kHz. ``OutboundFramer`` holds paced frames until they fill such a chunk; the end of an
utterance flushes the tail padded with silence, and a barge-in drops what it holds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChunkRule:
    min_bytes: int
    multiple_bytes: int
    max_bytes: int

    def __post_init__(self) -> None:
        if self.min_bytes % self.multiple_bytes or not 0 < self.min_bytes <= self.max_bytes:
            raise ValueError(f"inconsistent chunk rule {self}")

    @property
    def limit_bytes(self) -> int:
        """The largest chunk the rule allows: ``max_bytes`` rounded down to the multiple."""
        return self.max_bytes - self.max_bytes % self.multiple_bytes

    def hold_frames(self, frame_bytes: int) -> int:
        """How many 20 ms frames of ``frame_bytes`` fill the smallest chunk."""
        return -(-self.min_bytes // frame_bytes)

    def padded_size(self, size: int) -> int:
        """The smallest allowed chunk that holds ``size`` bytes."""
        return max(self.min_bytes, -(-size // self.multiple_bytes) * self.multiple_bytes)


EXOTEL_CHUNKS = ChunkRule(min_bytes=3200, multiple_bytes=320, max_bytes=100_000)


class OutboundFramer:
    """Holds outbound 16-bit PCM until it makes chunks ``rule`` allows."""

    def __init__(self, rule: ChunkRule) -> None:
        self.rule = rule
        self._held = bytearray()

    @property
    def held_bytes(self) -> int:
        return len(self._held)

    def push(self, pcm16: bytes) -> list[bytes]:
        """Add ``pcm16``; returns the chunks now ready (often none), keeping the remainder."""
        self._held += pcm16
        return self._take()

    def flush(self) -> list[bytes]:
        """Everything held, its last chunk padded with silence to an allowed size."""
        if not self._held:
            return []
        self._held += bytes(self.rule.padded_size(len(self._held)) - len(self._held))
        return self._take()

    def drop(self) -> int:
        """Forget what is held (a barge-in: it must never be played); returns how many bytes."""
        dropped = len(self._held)
        self._held.clear()
        return dropped

    def _take(self) -> list[bytes]:
        rule = self.rule
        chunks: list[bytes] = []
        while len(self._held) >= rule.min_bytes:
            size = min(len(self._held) - len(self._held) % rule.multiple_bytes, rule.limit_bytes)
            chunks.append(bytes(self._held[:size]))
            del self._held[:size]
        return chunks
