"""The sans-I/O user agent, exercised with bytes and a fake clock: every call flow without a socket."""

from __future__ import annotations

import pytest

from engine.telephony.sip.auth import check_authorization
from engine.telephony.sip.core import CallState
from engine.telephony.sip.endpoint import SipEndpoint
from engine.telephony.sip.events import (
    CallAnswered,
    CallConfirmed,
    CallEnded,
    CallFailed,
    CallProgress,
    Credentials,
    DtmfInfo,
    IncomingCall,
    MediaUpdated,
    MessageDropped,
)
from engine.telephony.sip.message import SipRequest, SipResponse, make_response, parse_message
from engine.telephony.sip.sdp import parse_sdp
from tests.sip.peer import PEER, Peer, offer_sdp, requests, responses


@pytest.fixture
def ep() -> SipEndpoint:
    return SipEndpoint("127.0.0.1", 5080)


def _incoming(ep: SipEndpoint, peer: Peer, now: float = 0.0) -> IncomingCall:
    ep.receive_datagram(peer.invite(), PEER, now)
    out, events = ep.poll()
    assert [r.status for r in responses(out)] == [100]
    assert len(events) == 1 and isinstance(events[0], IncomingCall)
    return events[0]


def _answer(ep: SipEndpoint, peer: Peer, call_id: str, now: float = 0.1) -> SipResponse:
    ep.ring(call_id, now)
    ep.answer(call_id, "127.0.0.1", 30000, now)
    out, _ = ep.poll()
    got = responses(out)
    assert [r.status for r in got] == [180, 200]
    ok = got[1]
    peer.to_tag = ok.headers.get("To", "").split("tag=")[1]
    return ok


def test_inbound_call_full_flow(ep: SipEndpoint) -> None:
    peer = Peer()
    call = _incoming(ep, peer)
    assert call.from_user == "+911234567890" and call.to_user == "+919876543210"
    assert call.negotiated is not None and call.negotiated.codec_name == "PCMU" and call.negotiated.dtmf_pt == 101
    ok = _answer(ep, peer, call.call_id)
    answer = parse_sdp(ok.body)
    assert answer.audio_address() == ("127.0.0.1", 30000)
    assert ok.headers.get("Contact") and ok.headers.get("Content-Type") == "application/sdp"
    # Without an ACK the 200 is retransmitted (UDP).
    deadline = ep.next_deadline()
    assert deadline is not None and deadline == pytest.approx(0.6)
    ep.on_timer(deadline)
    out, _ = ep.poll()
    assert [r.status for r in responses(out)] == [200]
    ep.receive_datagram(peer.request("ACK", cseq=1), PEER, 0.7)
    _, events = ep.poll()
    assert events == [CallConfirmed(call.call_id, call.negotiated)]
    ep.on_timer(5.0)
    assert responses(ep.poll()[0]) == []  # ACK stopped the retransmissions
    peer.cseq = 2
    ep.receive_datagram(peer.request("BYE"), PEER, 10.0)
    out, events = ep.poll()
    assert [r.status for r in responses(out)] == [200]
    assert events == [CallEnded(call.call_id, "remote hangup", by_remote=True)]
    assert ep.call_state(call.call_id) is CallState.ENDED
    ep.on_timer(100.0)
    assert ep.call_state(call.call_id) is None  # forgotten once transactions ended


def test_retransmitted_invite_is_absorbed(ep: SipEndpoint) -> None:
    peer = Peer()
    data = peer.invite(branch="z9hG4bKsame")
    ep.receive_datagram(data, PEER, 0.0)
    ep.poll()
    ep.receive_datagram(data, PEER, 0.5)
    out, events = ep.poll()
    assert [r.status for r in responses(out)] == [100] and events == []


def test_cancel_before_answer(ep: SipEndpoint) -> None:
    peer = Peer()
    ep.receive_datagram(peer.invite(branch="z9hG4bKinv"), PEER, 0.0)
    call = ep.poll()[1][0]
    assert isinstance(call, IncomingCall)
    ep.receive_datagram(peer.request("CANCEL", branch="z9hG4bKinv"), PEER, 0.5)
    out, events = ep.poll()
    got = sorted((r.status, r.headers.get("CSeq")) for r in responses(out))
    assert got == [(200, "1 CANCEL"), (487, "1 INVITE")]
    assert events == [CallEnded(call.call_id, "cancelled", by_remote=True)]
    ep.answer(call.call_id, "127.0.0.1", 1, 0.6)  # too late: nothing happens
    assert ep.poll() == ([], [])


def test_cancel_for_unknown_transaction_is_481(ep: SipEndpoint) -> None:
    ep.receive_datagram(Peer().request("CANCEL"), PEER, 0.0)
    assert [r.status for r in responses(ep.poll()[0])] == [481]


def test_reinvite_hold_and_resume(ep: SipEndpoint) -> None:
    peer = Peer()
    call = _incoming(ep, peer)
    _answer(ep, peer, call.call_id)
    ep.receive_datagram(peer.request("ACK"), PEER, 0.2)
    ep.poll()
    peer.cseq = 2
    ep.receive_datagram(peer.invite(offer_sdp(direction="sendonly")), PEER, 1.0)
    out, events = ep.poll()
    ok = next(r for r in responses(out) if r.status == 200)
    assert parse_sdp(ok.body).audio_direction() == "recvonly"
    assert isinstance(events[0], MediaUpdated) and events[0].negotiated.on_hold
    peer.cseq = 3
    ep.receive_datagram(peer.invite(offer_sdp()), PEER, 2.0)
    out, events = ep.poll()
    assert isinstance(events[0], MediaUpdated) and not events[0].negotiated.on_hold
    ok2 = next(r for r in responses(out) if r.status == 200)
    assert int(parse_sdp(ok2.body).origin_version) > int(parse_sdp(ok.body).origin_version)


def test_stale_cseq_in_dialog_is_500(ep: SipEndpoint) -> None:
    peer = Peer()
    call = _incoming(ep, peer)
    _answer(ep, peer, call.call_id)
    peer.cseq = 5
    ep.receive_datagram(peer.request("INFO"), PEER, 1.0)
    peer.cseq = 4
    ep.receive_datagram(peer.request("INFO"), PEER, 1.1)
    assert [r.status for r in responses(ep.poll()[0])] == [200, 500]


def test_info_dtmf_relay(ep: SipEndpoint) -> None:
    peer = Peer()
    call = _incoming(ep, peer)
    _answer(ep, peer, call.call_id)
    peer.cseq = 2
    ep.receive_datagram(
        peer.request("INFO", body=b"Signal=5\r\nDuration=160\r\n", content_type="application/dtmf-relay"), PEER, 1
    )
    out, events = ep.poll()
    assert [r.status for r in responses(out)] == [200] and events == [DtmfInfo(call.call_id, "5")]


def test_options_keepalive(ep: SipEndpoint) -> None:
    ep.receive_datagram(Peer().request("OPTIONS"), PEER, 0.0)
    (resp,) = responses(ep.poll()[0])
    assert resp.status == 200 and "INVITE" in (resp.headers.get("Allow") or "")
    assert resp.headers.get("Accept") == "application/sdp"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (Peer().invite(b"hello", content_type="text/plain"), 415),
        (Peer().invite(offer_sdp(codecs=[(9, "G722")])), 488),
        (Peer().invite(b"not sdp at all"), 400),
        (Peer().invite().replace(b"CSeq: 1 INVITE", b"CSeq: 1 BYE"), 400),
        (Peer().request("BYE"), 481),
        (Peer().request("SUBSCRIBE"), 405),
        (Peer().request("INVITE", extra="Require: 100rel"), 420),
        (Peer().request("MESSAGE", to_tag="nope"), 481),
    ],
)
def test_bad_requests_get_the_right_error(ep: SipEndpoint, data: bytes, status: int) -> None:
    ep.receive_datagram(data, PEER, 0.0)
    out, events = ep.poll()
    assert [r.status for r in responses(out)] == [status]
    assert not any(isinstance(e, IncomingCall) for e in events)
    if status == 415:
        assert responses(out)[0].headers.get("Accept") == "application/sdp"


def test_unanswerable_garbage_is_dropped_with_an_event(ep: SipEndpoint) -> None:
    ep.receive_datagram(b"\x00\x01garbage", PEER, 0.0)
    ep.receive_datagram(b"\r\n\r\n", PEER, 0.0)  # keep-alive: silently ignored
    out, events = ep.poll()
    assert out == [] and len(events) == 1 and isinstance(events[0], MessageDropped)


def test_invite_without_offer_gets_offer_in_200_and_answer_in_ack(ep: SipEndpoint) -> None:
    peer = Peer()
    ep.receive_datagram(peer.request("INVITE"), PEER, 0.0)
    call = ep.poll()[1][0]
    assert isinstance(call, IncomingCall) and call.negotiated is None
    ok = _answer(ep, peer, call.call_id)
    offer = parse_sdp(ok.body).audio()
    assert offer is not None and offer.formats == [0, 8, 101]
    ep.receive_datagram(peer.request("ACK", body=offer_sdp(codecs=[(8, "PCMA")])), PEER, 0.3)
    events = ep.poll()[1]
    assert isinstance(events[0], CallConfirmed) and events[0].negotiated is not None
    assert events[0].negotiated.codec_name == "PCMA"


def test_local_hangup_sends_bye(ep: SipEndpoint) -> None:
    peer = Peer()
    call = _incoming(ep, peer)
    _answer(ep, peer, call.call_id)
    ep.hangup(call.call_id, 1.0)
    out, events = ep.poll()
    (bye,) = requests(out)
    assert bye.method == "BYE" and bye.uri == "sip:caller@192.0.2.10:5060"
    assert f"tag={peer.from_tag}" in (bye.headers.get("To") or "")
    assert events == [CallEnded(call.call_id, "hangup", by_remote=False)]
    ep.hangup(call.call_id, 1.1)  # idempotent
    assert ep.poll() == ([], [])


def test_tcp_stream_in_pieces(ep: SipEndpoint) -> None:
    data = Peer().invite()
    for i in range(0, len(data), 50):
        ep.receive_stream(data[i : i + 50], ("127.0.0.1", 40001), 0.0)
    out, events = ep.poll()
    assert [o.transport for o in out] == ["tcp"] and isinstance(events[0], IncomingCall)


# -- outbound ---------------------------------------------------------------------------------------------------
TRUNK = ("198.51.100.1", 5060)


def _start_outbound(ep: SipEndpoint, credentials: Credentials | None = None) -> tuple[str, SipRequest]:
    call_id = ep.invite(
        target_uri="sip:+919876543210@198.51.100.1",
        from_uri="sip:closerr@198.51.100.1",
        addr=TRUNK,
        rtp_host="127.0.0.1",
        rtp_port=31000,
        now=0.0,
        credentials=credentials,
    )
    out, _ = ep.poll()
    (invite,) = requests(out)
    assert out[0].addr == TRUNK and invite.method == "INVITE"
    return call_id, invite


def _reply(ep: SipEndpoint, request: SipRequest, status: int, now: float, *, body: bytes = b"", extra=()) -> None:
    resp = make_response(request, status, to_tag="uas1" if status > 100 else None)
    resp.headers.add("Contact", "<sip:uas@198.51.100.1:5060>")
    for name, value in extra:
        resp.headers.add(name, value)
    if body:
        resp.headers.add("Content-Type", "application/sdp")
        resp.body = body
    ep.receive_datagram(resp.serialize(), TRUNK, now)


def test_outbound_with_digest_auth_early_media_and_answer(ep: SipEndpoint) -> None:
    call_id, invite = _start_outbound(ep, Credentials("acct", "s3cret"))
    challenge = 'Digest realm="trunk", nonce="abc123", qop="auth", algorithm=MD5, opaque="o"'
    _reply(ep, invite, 401, 0.1, extra=[("WWW-Authenticate", challenge)])
    out, events = ep.poll()
    sent = requests(out)
    assert [r.method for r in sent] == ["ACK", "INVITE"] and events == []
    retry = sent[1]
    assert int(retry.headers.get("CSeq", "0").split()[0]) == int(invite.headers.get("CSeq", "0").split()[0]) + 1
    assert check_authorization(
        retry.headers.get("Authorization") or "", method="INVITE", username="acct", password="s3cret"
    )
    _reply(ep, retry, 183, 0.2, body=offer_sdp(codecs=[(8, "PCMA")], host="198.51.100.9"))
    _, events = ep.poll()
    assert isinstance(events[0], CallProgress) and events[0].negotiated is not None
    assert events[0].negotiated.remote_host == "198.51.100.9"
    _reply(ep, retry, 200, 1.0, body=offer_sdp(codecs=[(8, "PCMA")], host="198.51.100.9"))
    out, events = ep.poll()
    (ack,) = requests(out)
    assert ack.method == "ACK" and ack.uri == "sip:uas@198.51.100.1:5060"
    assert isinstance(events[0], CallAnswered) and events[0].negotiated is not None
    # A retransmitted 200 is ACKed again, not reported again.
    _reply(ep, retry, 200, 1.5, body=offer_sdp())
    out, events = ep.poll()
    assert [r.method for r in requests(out)] == ["ACK"] and events == []
    ep.hangup(call_id, 5.0)
    out, events = ep.poll()
    assert [r.method for r in requests(out)] == ["BYE"] and isinstance(events[0], CallEnded)


def test_wrong_password_gives_up_after_two_tries(ep: SipEndpoint) -> None:
    call_id, invite = _start_outbound(ep, Credentials("acct", "bad"))
    request = invite
    for i in range(3):
        _reply(ep, request, 407, 0.1 * (i + 1), extra=[("Proxy-Authenticate", f'Digest realm="r", nonce="n{i}"')])
        out, events = ep.poll()
        invites = [r for r in requests(out) if r.method == "INVITE"]
        if invites:
            assert invites[0].headers.get("Proxy-Authorization")
            request = invites[0]
    assert events == [CallFailed(call_id, 407, "Proxy Authentication Required")]


@pytest.mark.parametrize("status", [486, 480, 503])
def test_outbound_errors_are_acked_and_reported(ep: SipEndpoint, status: int) -> None:
    _call_id, invite = _start_outbound(ep)
    _reply(ep, invite, 180, 0.1)
    assert isinstance(ep.poll()[1][0], CallProgress)
    _reply(ep, invite, status, 0.2)
    out, events = ep.poll()
    assert [r.method for r in requests(out)] == ["ACK"]
    assert isinstance(events[0], CallFailed) and events[0].status == status


def test_outbound_timeout_is_408(ep: SipEndpoint) -> None:
    call_id, _ = _start_outbound(ep)
    now = 0.0
    while (deadline := ep.next_deadline()) is not None and deadline < 60:
        now = deadline
        ep.on_timer(now)
    out, events = ep.poll()
    assert len([r for r in requests(out) if r.method == "INVITE"]) == 6  # retransmissions
    assert events == [CallFailed(call_id, 408, "Request Timeout")]


def test_hangup_while_ringing_sends_cancel(ep: SipEndpoint) -> None:
    call_id, invite = _start_outbound(ep)
    ep.hangup(call_id, 0.05)  # before any provisional: CANCEL must wait (RFC 3261 9.1)
    out, events = ep.poll()
    assert requests(out) == [] and isinstance(events[0], CallEnded)
    _reply(ep, invite, 180, 0.1)
    out, _ = ep.poll()
    (cancel,) = requests(out)
    assert cancel.method == "CANCEL" and cancel.headers.get_all("Via")[0] == invite.headers.get_all("Via")[0]
    ep.receive_datagram(make_response(cancel, 200, to_tag="uas1").serialize(), TRUNK, 0.2)
    _reply(ep, invite, 487, 0.2)
    out, events = ep.poll()
    assert [r.method for r in requests(out)] == ["ACK"] and events == []


def test_200_crossing_cancel_is_acked_then_byed(ep: SipEndpoint) -> None:
    call_id, invite = _start_outbound(ep)
    _reply(ep, invite, 180, 0.1)
    ep.poll()
    ep.hangup(call_id, 0.2)
    ep.poll()
    _reply(ep, invite, 200, 0.3, body=offer_sdp())
    out, events = ep.poll()
    assert [r.method for r in requests(out)] == ["ACK", "BYE"] and events == []


def test_response_to_unknown_transaction_is_ignored(ep: SipEndpoint) -> None:
    msg = parse_message(Peer().invite())
    assert isinstance(msg, SipRequest)
    ep.receive_datagram(make_response(msg, 200, to_tag="x").serialize(), TRUNK, 0.0)
    assert ep.poll() == ([], [])


def test_responses_carry_received_and_rport(ep: SipEndpoint) -> None:
    ep.receive_datagram(Peer().request("OPTIONS"), ("203.0.113.9", 61000), 0.0)
    (resp,) = responses(ep.poll()[0])
    via = resp.headers.get("Via", "")
    assert ";rport=61000" in via and ";received=203.0.113.9" in via


def test_max_forwards_zero_is_served_by_a_user_agent(ep: SipEndpoint) -> None:
    """483 Too Many Hops is a proxy's answer (RFC 3261 16.3); the UA a request reaches serves it (RFC 4475 3.3.11)."""
    ep.receive_datagram(Peer().request("OPTIONS").replace(b"Max-Forwards: 70", b"Max-Forwards: 0"), PEER, 0.0)
    assert [r.status for r in responses(ep.poll()[0])] == [200]


def test_a_reused_branch_from_another_source_is_answered_not_taken_for_a_retransmission(ep: SipEndpoint) -> None:
    request = Peer().request("OPTIONS")
    elsewhere = ("192.0.2.77", 5060)
    ep.receive_datagram(request, PEER, 0.0)
    ep.receive_datagram(request, elsewhere, 0.1)
    out, _ = ep.poll()
    answers = [(o.addr, r.status) for o, r in zip(out, responses(out), strict=True)]
    assert answers == [(PEER, 200), (elsewhere, 200)]
    ep.receive_datagram(request, PEER, 0.2)  # a true retransmission: the transaction resends its answer
    out, _ = ep.poll()
    assert [o.addr for o in out] == [PEER] and responses(out)[0].status == 200
