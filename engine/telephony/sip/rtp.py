"""RTP packets (RFC 3550) and telephone-events (RFC 4733): parse and build, with no I/O."""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass

RTP_VERSION = 2
HEADER = struct.Struct("!BBHII")
SAMPLES_PER_FRAME = 160  # 20 ms at 8 kHz
DTMF_EVENTS = "0123456789*#ABCD"


class RtpError(ValueError):
    """Not a usable RTP packet: dropped by the caller."""


@dataclass(frozen=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False

    def build(self) -> bytes:
        first = RTP_VERSION << 6
        second = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        return HEADER.pack(first, second, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc) + (
            self.payload
        )


def parse_rtp(data: bytes) -> RtpPacket:
    """Parse one datagram; raises ``RtpError`` for anything that is not RTP v2 with a sane layout."""
    if len(data) < HEADER.size:
        raise RtpError("shorter than an RTP header")
    first, second, seq, ts, ssrc = HEADER.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise RtpError("not RTP version 2")
    payload_type = second & 0x7F
    if 72 <= payload_type <= 76:
        raise RtpError("RTCP on the RTP port")  # RFC 5761 demultiplexing range
    offset = HEADER.size + 4 * (first & 0x0F)  # CSRC list
    if first & 0x10:  # header extension
        if len(data) < offset + 4:
            raise RtpError("truncated header extension")
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
    end = len(data)
    if first & 0x20:  # padding: last byte says how much
        if end <= offset:
            raise RtpError("padding without payload")
        pad = data[-1]
        if pad == 0 or pad > end - offset:
            raise RtpError("bad padding")
        end -= pad
    if offset > end:
        raise RtpError("header longer than the packet")
    return RtpPacket(payload_type, seq, ts, ssrc, bytes(data[offset:end]), bool(second & 0x80))


class RtpSender:
    """Sequence numbers, timestamps and SSRC for one outbound stream (random starts, RFC 3550 5.1)."""

    def __init__(self, payload_type: int, ssrc: int | None = None) -> None:
        self.payload_type = payload_type
        self.ssrc = ssrc if ssrc is not None else secrets.randbits(32)
        self.sequence = secrets.randbits(16)
        self.timestamp = secrets.randbits(32)
        self._marker_next = True
        self.packets_sent = 0

    def next_packet(self, payload: bytes, samples: int = SAMPLES_PER_FRAME) -> bytes:
        packet = RtpPacket(self.payload_type, self.sequence, self.timestamp, self.ssrc, payload, self._marker_next)
        self._marker_next = False
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.timestamp = (self.timestamp + samples) & 0xFFFFFFFF
        self.packets_sent += 1
        return packet.build()

    def skip(self, samples: int = SAMPLES_PER_FRAME) -> None:
        """Time passed without a packet (we were silent or on hold): the next one starts a talkspurt."""
        self.timestamp = (self.timestamp + samples) & 0xFFFFFFFF
        self._marker_next = True


# -- RFC 4733 telephone-events --------------------------------------------------------------------------------
@dataclass(frozen=True)
class TelephoneEvent:
    event: int
    end: bool
    volume: int
    duration: int

    @property
    def digit(self) -> str | None:
        return DTMF_EVENTS[self.event] if self.event < len(DTMF_EVENTS) else None


def parse_telephone_event(payload: bytes) -> TelephoneEvent:
    if len(payload) < 4:
        raise RtpError("telephone-event payload shorter than 4 bytes")
    event, flags, duration = struct.unpack_from("!BBH", payload)
    return TelephoneEvent(event, bool(flags & 0x80), flags & 0x3F, duration)


def build_telephone_event(event: int, *, end: bool, volume: int = 10, duration: int = 0) -> bytes:
    return struct.pack("!BBH", event, (0x80 if end else 0) | (volume & 0x3F), duration & 0xFFFF)


class DtmfReceiver:
    """Turns the stream of telephone-event packets into digits, once each.

    A key press is sent as many packets sharing one RTP timestamp, ending with three copies of the end packet
    (RFC 4733 2.5.1.4); the digit counts once per timestamp, reported on the first packet so the turn manager
    hears it without waiting for the key to be released.
    """

    def __init__(self) -> None:
        self._seen: list[int] = []

    def feed(self, packet: RtpPacket) -> str | None:
        event = parse_telephone_event(packet.payload)
        digit = event.digit
        if digit is None or packet.timestamp in self._seen:
            return None
        self._seen.append(packet.timestamp)
        del self._seen[:-16]
        return digit
