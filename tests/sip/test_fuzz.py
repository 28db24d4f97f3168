"""Property-based fuzzing: random and mutated bytes never crash the parsers or the state machines.

The only allowed outcomes for junk are the documented errors (parsers) or a 4xx / a dropped-message event
(endpoint); a call already in progress on the same endpoint is not disturbed.
"""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.telephony.sip.endpoint import SipEndpoint
from engine.telephony.sip.events import CallEnded, IncomingCall
from engine.telephony.sip.media import RtpSession
from engine.telephony.sip.message import SipParseError, SipRequest, StreamParser, make_response, parse_message
from engine.telephony.sip.rtp import RtpError, parse_rtp
from engine.telephony.sip.sdp import Negotiated, SdpError, negotiate, parse_sdp
from engine.telephony.sip.transaction import (
    ClientInviteTransaction,
    Deliver,
    SendBytes,
    ServerInviteTransaction,
    TimedOut,
)
from tests.sip.peer import PEER, Peer, offer_sdp, responses

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = [
    Peer().invite(),
    Peer().request("OPTIONS"),
    Peer().request("BYE", to_tag="abc"),
    Peer().request("CANCEL"),
    b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\n"
    b"Call-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "dup"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] = draw(st.integers(0, 255))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 20))]
        elif op == "insert":
            data[i:i] = draw(st.sampled_from([b"\r\n", b":", b";tag=", b"<", b"\x00", b"Content-Length: 99\r\n", b" "]))
        elif op == "truncate":
            del data[i:]
        else:
            data[i:i] = data[i : i + draw(st.integers(1, 40))]
    return bytes(data)


junk = st.one_of(st.binary(max_size=600), mutated())


@FUZZ
@given(junk)
def test_parser_only_raises_parse_errors(data: bytes) -> None:
    try:
        msg = parse_message(data)
    except SipParseError:
        return
    # Whatever parsed must serialise and parse back to the same start line and headers.
    again = parse_message(msg.serialize())
    assert type(again) is type(msg)


@FUZZ
@given(st.lists(junk, max_size=4), st.integers(1, 64))
def test_stream_parser_survives_any_chunking(chunks: list[bytes], size: int) -> None:
    parser = StreamParser()
    data = b"".join(chunks)
    for i in range(0, len(data), size):
        for item in parser.feed(data[i : i + size]):
            assert isinstance(item, SipParseError) or item.headers.get("Call-ID") is not None


@FUZZ
@given(junk)
def test_sdp_and_rtp_parsers(data: bytes) -> None:
    with contextlib.suppress(SdpError):
        negotiate(parse_sdp(data))
    with contextlib.suppress(RtpError):
        parse_rtp(data)


@FUZZ
@given(st.lists(junk, min_size=1, max_size=6))
def test_endpoint_answers_or_drops_and_keeps_other_calls(messages: list[bytes]) -> None:
    ep = SipEndpoint("127.0.0.1", 5080)
    good = Peer()
    ep.receive_datagram(good.invite(), ("127.0.0.1", 9999), 0.0)
    (call,) = [e for e in ep.poll()[1] if isinstance(e, IncomingCall)]
    ep.answer(call.call_id, "127.0.0.1", 30000, 0.1)
    ok = responses(ep.poll()[0])[-1]
    good.to_tag = (ok.headers.get("To") or "").split("tag=")[1]
    ep.receive_datagram(good.request("ACK"), ("127.0.0.1", 9999), 0.15)
    ep.poll()
    for i, data in enumerate(messages):
        ep.receive_datagram(data, PEER, 0.2 + i)
        ep.receive_stream(data, PEER, 0.2 + i)
        for sent in [o for o in ep.poll()[0] if o.data.startswith(b"SIP/2.0 ")]:
            status = int(sent.data[8:11])
            assert 100 <= status < 700
            if status not in (400, 505):
                # A 400/505 copies the malformed request's own headers back (RFC 3261 8.2.6.2); others are ours.
                assert responses([sent])[0].status == status
    ep.on_timer(100.0)
    ep.poll()
    # The good call is still there and still hangs up cleanly.
    ep.hangup(call.call_id, 101.0)
    _, events = ep.poll()
    assert CallEnded(call.call_id, "hangup", by_remote=False) in events


@FUZZ
@given(st.lists(st.binary(max_size=200), max_size=30))
def test_media_session_survives_junk(datagrams: list[bytes]) -> None:
    session = RtpSession()
    session.configure(Negotiated("127.0.0.1", 4000, 0, "PCMU", 101, "sendrecv"))
    session.started = True
    for i, data in enumerate(datagrams):
        session.receive(data, ("127.0.0.1", 4000), i * 0.02)
        tick = session.tick(i * 0.02)
        assert tick.pcm is not None and len(tick.pcm) % 2 == 0


def test_offer_sdp_seed_is_valid() -> None:
    assert negotiate(parse_sdp(offer_sdp())).codec_name == "PCMU"


Step = tuple[str, float]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("resp"), st.sampled_from([100, 180, 183, 200, 401, 486, 487, 503]).map(float)),
        st.tuples(st.just("time"), st.floats(0.0, 40.0)),
        st.tuples(st.just("req"), st.sampled_from([0.0, 1.0])),  # 0: request retransmission, 1: ACK
    ),
    max_size=25,
)


def _invite() -> SipRequest:
    msg = parse_message(Peer().invite())
    assert isinstance(msg, SipRequest)
    return msg


@FUZZ
@given(steps, st.booleans())
def test_client_invite_transaction_invariants(script: list[Step], reliable: bool) -> None:
    request = _invite()
    tx = ClientInviteTransaction(request, reliable, 0.0)
    now = 0.0
    errors_delivered: list[int] = []
    acks = 0
    for kind, value in script:
        if kind == "resp":
            out = tx.receive(make_response(request, int(value), to_tag="t"), now)
        elif kind == "time":
            now += value
            out = tx.on_timer(now)
        else:
            continue
        for item in out:
            if isinstance(item, Deliver) and item.response.status >= 300:
                errors_delivered.append(item.response.status)
            if isinstance(item, SendBytes) and item.data.startswith(b"ACK "):
                acks += 1
        deadline = tx.next_deadline()
        assert deadline is None or deadline > now or kind == "resp"
        if tx.terminated:
            assert deadline is None
    assert len(errors_delivered) <= 1  # a final error reaches the TU once, however often it is retransmitted
    assert acks >= len(errors_delivered)


@FUZZ
@given(steps, st.booleans())
def test_server_invite_transaction_invariants(script: list[Step], reliable: bool) -> None:
    request = _invite()
    tx = ServerInviteTransaction(request, reliable, 0.0)
    now = 0.0
    final: bytes | None = None
    for kind, value in script:
        if kind == "resp":
            out = tx.respond(make_response(request, int(value), to_tag="t"), now)
        elif kind == "time":
            now += value
            out = tx.on_timer(now)
        else:
            ack = SipRequest("ACK", request.uri, request.headers)
            out = tx.receive_request(request if value == 0 else ack, now)
        for item in out:
            assert isinstance(item, SendBytes | TimedOut)
            if isinstance(item, SendBytes):
                status = int(item.data.split(b" ", 2)[1])
                if final is not None:
                    assert item.data == final  # after the final response only its retransmissions go out
                elif status >= 200:
                    final = item.data
        if reliable:
            assert "G" not in tx.timers.deadlines  # no retransmissions over TCP
