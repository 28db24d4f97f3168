"""RFC 3261 transaction state machines, driven by an injected clock (no sleeping)."""

from __future__ import annotations

from engine.telephony.sip.message import SipRequest, make_response, parse_message
from engine.telephony.sip.transaction import (
    T1,
    T2,
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    Deliver,
    SendBytes,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    TimedOut,
    TxOutput,
    TxState,
)
from tests.sip.peer import Peer


def _request(method: str = "INVITE") -> SipRequest:
    msg = parse_message(Peer().request(method) if method != "INVITE" else Peer().invite())
    assert isinstance(msg, SipRequest)
    return msg


def run_until(tx: ClientInviteTransaction | ClientNonInviteTransaction, end: float) -> list[tuple[float, TxOutput]]:
    """Fire every timer up to ``end``, recording when each output happened."""
    seen: list[tuple[float, TxOutput]] = []
    while (deadline := tx.next_deadline()) is not None and deadline <= end:
        seen += [(deadline, out) for out in tx.on_timer(deadline)]
    return seen


def test_client_invite_retransmits_doubling_then_times_out() -> None:
    tx = ClientInviteTransaction(_request(), reliable=False, now=0.0)
    seen = run_until(tx, 100.0)
    sends = [t for t, o in seen if isinstance(o, SendBytes)]
    # Intervals double from T1: sent at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 (RFC 3261 17.1.1.2).
    assert sends == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert isinstance(seen[-1][1], TimedOut) and seen[-1][0] == 64 * T1
    assert tx.state is TxState.TERMINATED


def test_client_invite_over_tcp_never_retransmits() -> None:
    tx = ClientInviteTransaction(_request(), reliable=True, now=0.0)
    seen = run_until(tx, 100.0)
    assert [type(o) for _, o in seen] == [TimedOut]


def test_client_invite_error_response_is_acked_and_absorbed() -> None:
    request = _request()
    tx = ClientInviteTransaction(request, reliable=False, now=0.0)
    ringing = make_response(request, 180, to_tag="t")
    assert [type(o) for o in tx.receive(ringing, 0.1)] == [Deliver]
    assert tx.state is TxState.PROCEEDING
    busy = make_response(request, 486, to_tag="t")
    out = tx.receive(busy, 0.2)
    assert isinstance(out[0], SendBytes) and isinstance(out[1], Deliver)
    ack = parse_message(out[0].data)
    assert isinstance(ack, SipRequest) and ack.method == "ACK"
    assert (
        ack.headers.get("CSeq", "").endswith("ACK")
        and ack.headers.get_all("Via")[0] == request.headers.get_all("Via")[0]
    )
    # A retransmitted 486 gets the ACK again and is not delivered twice.
    assert [type(o) for o in tx.receive(busy, 0.3)] == [SendBytes]
    run_until(tx, 40.0)
    assert tx.terminated


def test_client_invite_2xx_goes_to_accepted_and_passes_retransmissions() -> None:
    request = _request()
    tx = ClientInviteTransaction(request, reliable=False, now=0.0)
    ok = make_response(request, 200, to_tag="t")
    assert [type(o) for o in tx.receive(ok, 0.1)] == [Deliver]
    assert tx.state is TxState.ACCEPTED
    assert [type(o) for o in tx.receive(ok, 0.6)] == [Deliver]
    run_until(tx, 64 * T1 + 1)
    assert tx.terminated


def test_client_non_invite_caps_retransmits_at_t2() -> None:
    tx = ClientNonInviteTransaction(_request("OPTIONS"), reliable=False, now=0.0)
    seen = run_until(tx, 100.0)
    times = [t for t, o in seen if isinstance(o, SendBytes)]
    gaps = [b - a for a, b in zip([0.0, *times], times, strict=False)]
    assert gaps[:4] == [0.5, 1.0, 2.0, 4.0] and max(gaps) == T2
    assert isinstance(seen[-1][1], TimedOut)


def test_client_non_invite_completes_on_final() -> None:
    request = _request("BYE")
    tx = ClientNonInviteTransaction(request, reliable=False, now=0.0)
    assert [type(o) for o in tx.receive(make_response(request, 200), 0.1)] == [Deliver]
    assert tx.state is TxState.COMPLETED
    assert tx.receive(make_response(request, 200), 0.2) == []
    run_until(tx, 10.0)
    assert tx.terminated


def test_server_invite_retransmits_error_until_ack() -> None:
    request = _request()
    tx = ServerInviteTransaction(request, reliable=False, now=0.0)
    assert len(tx.respond(make_response(request, 100), 0.0)) == 1
    # A retransmitted INVITE gets the latest provisional again.
    assert len(tx.receive_request(request, 0.1)) == 1
    tx.respond(make_response(request, 488, to_tag="x"), 0.2)
    assert tx.state is TxState.COMPLETED
    out = tx.on_timer(0.2 + T1)
    assert len(out) == 1 and b"488" in out[0].data  # type: ignore[union-attr]
    ack = SipRequest("ACK", request.uri, request.headers)
    tx.receive_request(ack, 1.0)
    assert tx.state is TxState.CONFIRMED
    tx.on_timer(100.0)
    assert tx.terminated


def test_server_invite_times_out_without_ack() -> None:
    request = _request()
    tx = ServerInviteTransaction(request, reliable=False, now=0.0)
    tx.respond(make_response(request, 486, to_tag="x"), 0.0)
    outputs: list[TxOutput] = []
    while (deadline := tx.next_deadline()) is not None:
        outputs += tx.on_timer(deadline)
    assert isinstance(outputs[-1], TimedOut)
    assert sum(isinstance(o, SendBytes) for o in outputs) >= 8


def test_server_non_invite_repeats_final_for_retransmitted_request() -> None:
    request = _request("OPTIONS")
    tx = ServerNonInviteTransaction(request, reliable=False, now=0.0)
    first = tx.respond(make_response(request, 200), 0.0)
    again = tx.receive_request(request, 0.5)
    assert again == first
    assert tx.respond(make_response(request, 500), 0.6) == []
    tx.on_timer(64 * T1)
    assert tx.terminated
