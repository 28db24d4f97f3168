"""Adaptive jitter buffer for one inbound RTP stream, pure and clock-free (the caller passes times in).

Packets go in as they arrive (any order); one payload comes out per 20 ms playout tick. The depth follows the
measured interarrival jitter (RFC 3550 A.8): deeper when the network is bumpy, shallower when it is calm, so a
clean loopback stream costs one frame of delay and a bumpy mobile one does not crackle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.telephony.sip.rtp import RtpPacket

FRAME_S = 0.020
CLOCK_RATE = 8000
_RESET_GAP = 200  # a jump of more sequence numbers than this is a new stream (peer restarted)


@dataclass
class JitterStats:
    received: int = 0
    played: int = 0
    lost: int = 0  # never arrived by their playout time
    late: int = 0  # arrived after their playout time (dropped)
    duplicate: int = 0
    underruns: int = 0
    dropped_to_shrink: int = 0


class JitterBuffer:
    def __init__(self, min_depth: int = 1, max_depth: int = 10) -> None:
        self.min_depth = min_depth
        self.max_depth = max_depth
        self.stats = JitterStats()
        self.jitter_s = 0.0
        self._frames: dict[int, bytes] = {}  # extended sequence number -> payload
        self._next: int | None = None  # extended sequence of the next frame to play
        self._highest: int | None = None
        self._buffering = True
        self._last_transit: float | None = None

    @property
    def target_depth(self) -> int:
        """Frames to hold before playing: cover about three standard jitters, within the bounds."""
        wanted = 1 + int(3 * self.jitter_s / FRAME_S + 0.5)
        return max(self.min_depth, min(self.max_depth, wanted))

    @property
    def depth(self) -> int:
        return len(self._frames)

    def _extend(self, seq: int) -> int:
        if self._highest is None:
            return seq
        base = self._highest & ~0xFFFF
        candidates = (base - 0x10000 + seq, base + seq, base + 0x10000 + seq)
        return min(candidates, key=lambda c: abs(c - self._highest))  # type: ignore[operator]

    def push(self, packet: RtpPacket, arrival_s: float) -> None:
        ext = self._extend(packet.sequence)
        if self._highest is not None and abs(ext - self._highest) > _RESET_GAP:
            self._reset()
            ext = packet.sequence
        self.stats.received += 1
        transit = arrival_s - packet.timestamp / CLOCK_RATE
        if self._last_transit is not None:
            delta = abs(transit - self._last_transit)
            if delta < 1.0:  # timestamp wrap or a silence gap is not jitter
                self.jitter_s += (delta - self.jitter_s) / 16
        self._last_transit = transit
        if self._next is not None and ext < self._next:
            self.stats.late += 1
            return
        if ext in self._frames:
            self.stats.duplicate += 1
            return
        self._frames[ext] = packet.payload
        if self._highest is None or ext > self._highest:
            self._highest = ext
        if self._next is None or ext < self._next:
            self._next = ext

    def _reset(self) -> None:
        self._frames.clear()
        self._next = None
        self._highest = None
        self._buffering = True
        self._last_transit = None

    def pop(self) -> bytes | None:
        """The payload to play this tick, or None: nothing to play (buffering, lost or underrun)."""
        if self._next is None:
            return None
        if self._buffering:
            if len(self._frames) < self.target_depth:
                return None
            self._buffering = False
        # Shrink gradually when the network calmed down: drop the oldest frame rather than lag forever.
        if len(self._frames) > self.target_depth + 2 and self._next in self._frames:
            del self._frames[self._next]
            self._next += 1
            self.stats.dropped_to_shrink += 1
        payload = self._frames.pop(self._next, None)
        if payload is not None:
            self._next += 1
            self.stats.played += 1
            return payload
        if not self._frames:
            # Nothing at all: the sender paused (silence suppression, hold) or the network stalled. Re-buffer
            # and wait for the same frame instead of counting everything after it as lost.
            self.stats.underruns += 1
            self._buffering = True
            return None
        self.stats.lost += 1
        self._next += 1
        return None


def conceal(last_pcm: bytes | None, lost_in_row: int, frame_bytes: int) -> bytes:
    """Packet loss concealment: repeat the last frame fading by half each time, then silence."""
    if last_pcm is None or lost_in_row > 3 or len(last_pcm) != frame_bytes:
        return b"\x00" * frame_bytes
    samples = np.frombuffer(last_pcm, dtype="<i2").astype(np.float32) * (0.5**lost_in_row)
    return samples.astype("<i2").tobytes()
