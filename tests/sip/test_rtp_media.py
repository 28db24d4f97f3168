"""RTP packets, RFC 4733 events, the jitter buffer and the per-call media session, bytes and fake time only."""

from __future__ import annotations

import random

import numpy as np
import pytest

from engine.audio.g711 import ulaw_encode
from engine.telephony.sip.jitter import JitterBuffer, conceal
from engine.telephony.sip.media import FRAME_BYTES, RtpSession
from engine.telephony.sip.rtp import (
    DtmfReceiver,
    RtpError,
    RtpPacket,
    RtpSender,
    build_telephone_event,
    parse_rtp,
    parse_telephone_event,
)
from engine.telephony.sip.sdp import Negotiated

PEER = ("127.0.0.1", 40000)


def test_packet_round_trip_with_csrc_extension_and_padding() -> None:
    packet = RtpPacket(0, 65535, 2**32 - 1, 0xDEADBEEF, b"\x7f" * 160, marker=True)
    assert parse_rtp(packet.build()) == packet
    raw = bytearray(packet.build())
    raw[0] |= 0x20 | 0x10 | 0x01  # padding, extension, one CSRC
    body = raw[12:]
    crafted = bytes(raw[:12]) + b"CSRC" + b"\xbe\xde\x00\x01" + b"EXT!" + bytes(body) + b"\x00\x00\x03"
    parsed = parse_rtp(crafted)
    assert parsed.payload == bytes(body) and parsed.marker


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80\x00",
        b"\x40" + b"\x00" * 20,
        b"\xa0\x00" + b"\x00" * 10 + b"\x00",
        b"\x90" + b"\x00" * 11 + b"\x00\x00",
    ],
)
def test_malformed_rtp_raises(data: bytes) -> None:
    with pytest.raises(RtpError):
        parse_rtp(data)


def test_sender_sequence_timestamp_and_marker() -> None:
    sender = RtpSender(8, ssrc=1234)
    sender.sequence, sender.timestamp = 65535, 2**32 - 80
    first, second = parse_rtp(sender.next_packet(b"a")), parse_rtp(sender.next_packet(b"b"))
    assert (first.sequence, second.sequence) == (65535, 0)
    assert second.timestamp == (first.timestamp + 160) % 2**32
    assert first.marker and not second.marker and first.ssrc == second.ssrc == 1234
    sender.skip()
    third = parse_rtp(sender.next_packet(b"c"))
    assert third.marker and third.timestamp == (second.timestamp + 320) % 2**32


def test_dtmf_counted_once_per_key_press() -> None:
    rx = DtmfReceiver()
    digits = []
    for ts, event in ((1000, 1), (3000, 11)):  # "1" then "#"
        for i in range(5):
            payload = build_telephone_event(event, end=i >= 2, duration=160 * (i + 1))
            digits.append(rx.feed(RtpPacket(101, i, ts, 1, payload)))
    assert [d for d in digits if d] == ["1", "#"]
    assert parse_telephone_event(build_telephone_event(5, end=True, volume=7, duration=800)).volume == 7


def _packet(seq: int, payload: bytes = b"x" * 160) -> RtpPacket:
    return RtpPacket(0, seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF, 1, payload)


def test_jitter_buffer_reorders() -> None:
    jb = JitterBuffer(min_depth=2)
    for seq in (10, 12, 11, 13):
        jb.push(_packet(seq, bytes([seq]) * 160), seq * 0.02)
    out = [jb.pop() for _ in range(4)]
    assert [o[0] for o in out if o] == [10, 11, 12, 13]
    assert jb.stats.lost == 0


def test_jitter_buffer_counts_loss_and_late() -> None:
    jb = JitterBuffer(min_depth=1)
    played = []
    for seq in (1, 2, 4, 5):
        jb.push(_packet(seq), seq * 0.02)
        if seq == 4:
            played.append(jb.pop() is not None)  # seq 3 is missing and 4 is here: 3 is lost
        played.append(jb.pop() is not None)
    assert played == [True, True, False, True, True] and jb.stats.lost == 1
    jb.push(_packet(3), 0.2)  # arrives after its turn
    assert jb.stats.late == 1


def test_jitter_buffer_wraps_sequence_numbers() -> None:
    jb = JitterBuffer(min_depth=1)
    got = []
    for seq in (65534, 65535, 0, 1):
        jb.push(_packet(seq, bytes([seq % 256]) * 160), 0.0)
        got.append((jb.pop() or b"?")[0])
    assert got == [254, 255, 0, 1]


def test_jitter_buffer_adapts_depth() -> None:
    rng = random.Random(7)
    calm = JitterBuffer()
    for seq in range(200):
        calm.push(_packet(seq), seq * 0.02)
    bumpy = JitterBuffer()
    for seq in range(200):
        bumpy.push(_packet(seq), seq * 0.02 + rng.uniform(0, 0.08))
    assert calm.target_depth == 1
    assert bumpy.target_depth >= 3


def test_concealment_fades_then_silence() -> None:
    frame = (np.full(160, 1000, dtype="<i2")).tobytes()
    first = np.frombuffer(conceal(frame, 1, 320), dtype="<i2")
    assert first[0] == 500
    assert conceal(frame, 4, 320) == b"\x00" * 320
    assert conceal(None, 1, 320) == b"\x00" * 320


def _negotiated(**kw: object) -> Negotiated:
    base: dict[str, object] = {
        "remote_host": "127.0.0.1",
        "remote_port": 40000,
        "codec_pt": 0,
        "codec_name": "PCMU",
        "dtmf_pt": 101,
        "remote_direction": "sendrecv",
    }
    base.update(kw)
    return Negotiated(**base)  # type: ignore[arg-type]


def test_session_paces_queued_audio_then_silence_and_marks() -> None:
    session = RtpSession()
    session.configure(_negotiated())
    tone = (np.full(160 * 2, 3000, dtype="<i2")).tobytes()
    session.enqueue(tone[:500])
    session.enqueue(tone[500:])
    session.mark("greeting")
    ticks = [session.tick(i * 0.02) for i in range(3)]
    packets = [parse_rtp(t.packet) for t in ticks if t.packet]
    assert len(packets) == 3
    assert packets[0].payload == ulaw_encode(tone[:FRAME_BYTES])
    assert packets[2].payload == ulaw_encode(b"\x00" * FRAME_BYTES)  # idle: silence keeps the stream going
    assert ticks[1].marks == ["greeting"] and ticks[0].marks == []
    assert [p.sequence for p in packets] == [(packets[0].sequence + i) & 0xFFFF for i in range(3)]


def test_session_symmetric_rtp_latches_to_source() -> None:
    session = RtpSession()
    session.configure(_negotiated(remote_host="10.0.0.1", remote_port=5000))
    session.started = True
    nat = ("203.0.113.5", 62000)
    session.receive(RtpPacket(0, 1, 160, 99, b"\xff" * 160).build(), nat, 0.0)
    tick = session.tick(0.02)
    assert tick.addr == nat
    assert tick.pcm is not None and len(tick.pcm) == FRAME_BYTES
    # Another source with another SSRC cannot hijack the stream.
    session.receive(RtpPacket(0, 1, 160, 7, b"\x00" * 160).build(), ("198.51.100.66", 1), 0.03)
    assert session.stats.foreign == 1 and session.tick(0.04).addr == nat


def test_session_drops_malformed_and_reports_dtmf() -> None:
    session = RtpSession()
    session.configure(_negotiated())
    session.started = True
    assert session.receive(b"\x00garbage", PEER, 0.0) is None
    digit = session.receive(RtpPacket(101, 1, 800, 5, build_telephone_event(9, end=False)).build(), PEER, 0.0)
    assert digit == "9" and session.stats.malformed == 1


def test_session_on_hold_sends_nothing() -> None:
    session = RtpSession()
    session.configure(_negotiated(remote_direction="sendonly"))
    session.enqueue(b"\x01" * FRAME_BYTES)
    tick = session.tick(0.0)
    assert tick.packet is None and session.queued_frames == 0
    session.configure(_negotiated())
    assert parse_rtp(session.tick(0.02).packet or b"").marker  # resuming starts a talkspurt


def test_clear_returns_pending_marks() -> None:
    session = RtpSession()
    session.configure(_negotiated())
    session.enqueue(b"\x01" * FRAME_BYTES * 5)
    session.mark("m1")
    assert session.clear() == ["m1"] and session.queued_frames == 0


def test_single_paced_frame_waits_one_tick_for_slack() -> None:
    session = RtpSession()
    session.configure(_negotiated())
    session.enqueue(b"\x01\x01" * 160)
    first = parse_rtp(session.tick(0.0).packet or b"")
    assert first.payload == ulaw_encode(b"\x00" * FRAME_BYTES)  # held: silence this tick
    session.enqueue(b"\x02\x02" * 160)
    second = parse_rtp(session.tick(0.02).packet or b"")
    assert second.payload == ulaw_encode(b"\x01\x01" * 160)
    third = parse_rtp(session.tick(0.04).packet or b"")
    assert third.payload == ulaw_encode(b"\x02\x02" * 160)
