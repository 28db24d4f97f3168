"""The server half of ``SipEndpoint`` (RFC 3261's UAS): every request we receive, in a dialog or out of one.

It answers inbound calls (100, 180, the 200 with our SDP, retransmitted until the ACK), takes CANCEL, BYE,
re-INVITE (hold, resume, new media) and INFO (DTMF) for any call, and answers everything else it must.
Responses go back to the address the request came from, so NAT'd peers work. An INVITE from a source the
inbound policy does not admit is challenged for digest credentials where some are configured (401, RFC 3261
22.2), else (or with wrong ones) gets 403 and no call; an inbound call's media goes where the policy says.
"""

from __future__ import annotations

from engine.telephony.sip.auth import Verdict
from engine.telephony.sip.core import ALLOW, Call, CallState, EndpointCore, tag_of, usable_sdp
from engine.telephony.sip.dialog import Dialog, DialogError, DialogState, new_tag
from engine.telephony.sip.events import (
    Addr,
    CallConfirmed,
    CallEnded,
    DtmfInfo,
    IncomingCall,
    InviteRefused,
    MediaUpdated,
    ReferProgress,
)
from engine.telephony.sip.message import Headers, SipParseError, SipRequest, SipResponse, parse_cseq, parse_via
from engine.telephony.sip.received import (
    accepts_sdp,
    answerable,
    dtmf_relay_digit,
    refer_notify_status,
    stamp_via,
    uri_user,
    user_of,
)
from engine.telephony.sip.sdp import Negotiated, NoCommonCodec, SdpError, build_answer, build_sdp, negotiate, parse_sdp
from engine.telephony.sip.transaction import (
    T1,
    T2,
    SendBytes,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    ServerTransaction,
    TxOutput,
)
from engine.telephony.sip.uac import UserAgentClient

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset()
URI_SCHEMES = frozenset({"sip", "sips", "tel"})
ServerKey = tuple[str, str, str, Addr]


class UserAgentServer:
    def __init__(self, core: EndpointCore, uac: UserAgentClient) -> None:
        self._core = core
        self._uac = uac  # for the BYE that ends an inbound call from our side
        self._server_tx: dict[ServerKey, tuple[ServerTransaction, Addr, str]] = {}

    # -- commands ---------------------------------------------------------------------------------------------
    def ring(self, call_id: str, now: float) -> None:
        call = self._core.calls.get(call_id)
        if call is None or call.state is not CallState.INCOMING or call.invite_tx is None:
            return
        self._tx_respond(call.invite_tx, self._core.response(call.invite, 180, to_tag=call.local_tag), now)

    def answer(self, call_id: str, rtp_host: str, rtp_port: int, now: float) -> bytes | None:
        call = self._core.calls.get(call_id)
        if call is None or call.state is not CallState.INCOMING or call.invite_tx is None:
            return None
        call.rtp_host, call.rtp_port = rtp_host, rtp_port
        if call.negotiated is not None:
            sdp = build_answer(
                call.negotiated, host=rtp_host, port=rtp_port, session_id=call.session_id, version=call.sdp_version
            )
        else:
            sdp = build_sdp(host=rtp_host, port=rtp_port, session_id=call.session_id)
            call.offered_in_ok = True
        resp = self._core.response(call.invite, 200, to_tag=call.local_tag)
        resp.headers.add("Contact", self._core.contact(call.transport))
        resp.headers.add("Allow", ALLOW)
        resp.headers.add("Content-Type", "application/sdp")
        resp.body = sdp
        try:
            call.dialog = Dialog.as_uas(call.invite, call.local_tag, confirmed=True)
        except DialogError:
            self._tx_respond(call.invite_tx, self._core.response(call.invite, 400, to_tag=call.local_tag), now)
            call.state = CallState.ENDED
            return None
        call.state = CallState.ANSWERED
        call.ok_data = resp.serialize()
        call.ok_interval = T1
        if call.transport == "udp":
            call.ok_next = now + T1
        call.ok_give_up = now + 64 * T1
        self._tx_respond(call.invite_tx, resp, now)
        return sdp

    def reject(self, call_id: str, status: int, now: float) -> None:
        call = self._core.calls.get(call_id)
        if call is None or call.state is not CallState.INCOMING or call.invite_tx is None:
            return
        self._tx_respond(call.invite_tx, self._core.response(call.invite, status, to_tag=call.local_tag), now)
        call.state = CallState.ENDED

    # -- time and bookkeeping ---------------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        deadlines = [d for tx, *_ in self._server_tx.values() if (d := tx.next_deadline()) is not None]
        deadlines += [c.ok_next for c in self._core.calls.values() if c.ok_next is not None]
        return min(deadlines, default=None)

    def on_timer(self, now: float) -> None:
        for key, (tx, addr, transport) in list(self._server_tx.items()):
            for output in tx.on_timer(now):
                self._output(output, addr, transport)
            if tx.terminated:
                del self._server_tx[key]

    def retransmit_ok(self, now: float) -> None:
        """Repeat each unacknowledged 200 with backoff; past 64*T1 the session is dead (RFC 3261 13.3.1.4)."""
        for call in list(self._core.calls.values()):
            if call.ok_next is None or call.ok_next > now or call.ok_data is None:
                continue
            if now >= call.ok_give_up:
                call.ok_next = None
                self._uac.end_with_bye(call, "no ACK for 200", now)
                continue
            call.ok_interval = min(2 * call.ok_interval, T2)
            call.ok_next = now + call.ok_interval
            self._core.send(call.ok_data, call.addr, call.transport)

    def live_call_ids(self) -> set[str]:
        """Calls whose transactions still absorb retransmissions."""
        return {
            call_id for tx, *_ in self._server_tx.values() if (call_id := tx.request.headers.get("Call-ID")) is not None
        }

    # -- receiving --------------------------------------------------------------------------------------------
    def malformed(self, exc: SipParseError, addr: Addr, transport: str) -> bool:
        """Answer a request that did not parse with a 400 (505 for another SIP version) where its headers allow one;
        False where they do not."""
        request = exc.partial
        if request is None or request.method == "ACK" or not answerable(request, any_version=exc.status == 505):
            return False
        resp = self._core.response(request, exc.status)
        if exc.status == 400:
            # The reason phrase says what was wrong (RFC 3261 21.4.1), without echoing content.
            resp.reason = f"Bad Request ({str(exc)[:60]})".replace("\r", " ").replace("\n", " ")
        self._core.send(resp.serialize(), addr, transport)
        return True

    def receive(self, request: SipRequest, addr: Addr, transport: str, now: float) -> None:
        # Max-Forwards is a proxy's business (RFC 3261 16.3): a UA serves a request that arrives with 0.
        stamp_via(request, addr)
        key = self._server_key(request, addr)
        existing = self._server_tx.get(key)
        if existing is not None and not (request.method == "ACK" and existing[0].state != "completed"):
            tx, tx_addr, tx_transport = existing
            for output in tx.receive_request(request, now):
                self._output(output, tx_addr, tx_transport)
            return
        call = self._core.calls.get(request.headers.get("Call-ID") or "")
        if request.method == "ACK":
            if call is not None and call.dialog is not None:
                self._on_ack(call, request, now)
            return
        if request.method == "CANCEL":
            self._on_cancel(request, addr, transport, now)
            return
        if request.uri.partition(":")[0].lower() not in URI_SCHEMES:
            self._respond_new(request, 416, addr, transport, now)  # RFC 3261 8.2.2.1
            return
        required = [r for r in request.headers.get_all("Require") if r.lower() not in SUPPORTED_EXTENSIONS]
        if required:
            self._respond_new(request, 420, addr, transport, now, extra=Headers([("Unsupported", ", ".join(required))]))
            return
        to_tag = tag_of(request.headers.get("To"))
        if to_tag is None:
            self._out_of_dialog(request, addr, transport, now)
        elif call is None or call.dialog is None or call.dialog.local_tag != to_tag:
            self._respond_new(request, 481, addr, transport, now)
        else:
            self._in_dialog(call, request, addr, transport, now)

    def _out_of_dialog(self, request: SipRequest, addr: Addr, transport: str, now: float) -> None:
        method = request.method
        if method == "INVITE":
            self._on_invite(request, addr, transport, now)
        elif method == "OPTIONS":
            allow = Headers([("Allow", ALLOW), ("Accept", "application/sdp"), ("Content-Length", "0")])
            self._respond_new(request, 200, addr, transport, now, extra=allow)
        elif method == "BYE":
            self._respond_new(request, 481, addr, transport, now)
        else:
            self._respond_new(request, 405, addr, transport, now, extra=Headers([("Allow", ALLOW)]))

    def _in_dialog(self, call: Call, request: SipRequest, addr: Addr, transport: str, now: float) -> None:
        dialog = call.dialog
        assert dialog is not None
        if not dialog.check_remote_cseq(request):
            self._respond_new(request, 500, addr, transport, now)
            return
        method = request.method
        if method == "BYE":
            self._respond_in_dialog(request, 200, addr, transport, now)
            if call.state is not CallState.ENDED:
                call.state = CallState.ENDED
                dialog.state = DialogState.TERMINATED
                call.ok_next = None
                self._core.emit(CallEnded(call.call_id, "remote hangup", by_remote=True))
        elif method == "INVITE":
            self._on_reinvite(call, request, addr, transport, now)
        elif method == "INFO":
            self._respond_in_dialog(request, 200, addr, transport, now)
            digit = dtmf_relay_digit(request)
            if digit is not None:
                self._core.emit(DtmfInfo(call.call_id, digit))
        elif method == "NOTIFY":
            # Answered 200 whatever it reports (RFC 3515 2.4.4); a refer subscription's progress goes to the TU.
            self._respond_in_dialog(request, 200, addr, transport, now)
            progress = refer_notify_status(request)
            if progress is not None:
                self._core.emit(ReferProgress(call.call_id, progress[0], progress[1]))
        elif method in ("OPTIONS", "UPDATE"):
            self._respond_in_dialog(request, 200, addr, transport, now)
        else:
            self._respond_new(request, 405, addr, transport, now, extra=Headers([("Allow", ALLOW)]))

    def _on_invite(self, request: SipRequest, addr: Addr, transport: str, now: float) -> None:
        if not self._admitted(request, addr, transport, now):
            return
        call_id = request.headers.get("Call-ID") or ""
        if call_id in self._core.calls:
            # Same Call-ID, no To tag, new branch: a forked or confused peer. Refuse; the original call stands.
            self._respond_new(request, 482, addr, transport, now)
            return
        if not accepts_sdp(request):
            # Our answer is SDP; a caller that accepts no SDP cannot take it (RFC 3261 8.2.3, 21.4.7).
            self._respond_new(request, 406, addr, transport, now, extra=Headers([("Accept", "application/sdp")]))
            return
        status, negotiated, extra = _offer_from(request)
        if status:
            self._respond_new(request, status, addr, transport, now, extra=extra)
            return
        negotiated = self._core.inbound.media_for(negotiated, addr)
        tx = self._new_tx(request, addr, transport, now)
        assert isinstance(tx, ServerInviteTransaction)
        self._core.calls[call_id] = Call(
            call_id=call_id,
            outbound=False,
            addr=addr,
            transport=transport,
            invite=request,
            state=CallState.INCOMING,
            local_tag=new_tag(),
            negotiated=negotiated,
            invite_tx=tx,
        )
        self._respond(tx, self._core.response(request, 100), addr, transport, now)
        self._core.emit(
            IncomingCall(
                call_id,
                user_of(request.headers.get("From")),
                user_of(request.headers.get("To")) or uri_user(request.uri),
                negotiated,
                addr,
                transport,
            )
        )

    def _admitted(self, request: SipRequest, addr: Addr, transport: str, now: float) -> bool:
        """From an allowed network, or with the configured digest credentials; else answered (401 or 403)."""
        policy = self._core.inbound
        if policy.admits(addr):
            return True
        if policy.digest is None:
            self._respond_new(request, 403, addr, transport, now)
            self._core.emit(InviteRefused("source_not_allowed", addr))
            return False
        verdict = policy.digest.verify(request.headers.get("Authorization"), method="INVITE", uri=request.uri, now=now)
        if verdict is Verdict.OK:
            return True
        if verdict is Verdict.BAD:
            self._respond_new(request, 403, addr, transport, now)
            self._core.emit(InviteRefused("bad_credentials", addr))
            return False
        challenge = policy.digest.challenge(now, stale=verdict is Verdict.STALE)
        self._respond_new(request, 401, addr, transport, now, extra=Headers([("WWW-Authenticate", challenge)]))
        return False

    def _on_ack(self, call: Call, request: SipRequest, now: float) -> None:
        if call.outbound or call.state is not CallState.ANSWERED or call.ok_data is None:
            return
        call.ok_data = None
        call.ok_next = None
        negotiated = call.negotiated
        if call.offered_in_ok:
            call.offered_in_ok = False
            if request.body:
                negotiated = self._core.inbound.media_for(usable_sdp(request.body), call.addr)
                if negotiated is not None:
                    call.negotiated = negotiated
            if negotiated is None:
                # An unusable answer in the ACK cannot be refused: end the call (RFC 3261 13.3.1.4).
                self._uac.end_with_bye(call, "no usable answer in ACK", now)
                return
        self._core.emit(CallConfirmed(call.call_id, negotiated))

    def _on_cancel(self, request: SipRequest, addr: Addr, transport: str, now: float) -> None:
        invite_key = self._server_key(SipRequest("INVITE", request.uri, request.headers), addr)
        entry = self._server_tx.get(invite_key)
        call = self._core.calls.get(request.headers.get("Call-ID") or "")
        if entry is None or call is None or call.outbound:
            self._respond_new(request, 481, addr, transport, now)
            return
        self._respond_new(request, 200, addr, transport, now)
        if call.state is CallState.INCOMING and call.invite_tx is not None:
            self._tx_respond(call.invite_tx, self._core.response(call.invite, 487, to_tag=call.local_tag), now)
            call.state = CallState.ENDED
            self._core.emit(CallEnded(call.call_id, "cancelled", by_remote=True))

    def _on_reinvite(self, call: Call, request: SipRequest, addr: Addr, transport: str, now: float) -> None:
        if call.state is not CallState.ANSWERED:
            self._respond_new(request, 491 if call.state is CallState.INCOMING else 481, addr, transport, now)
            return
        status, negotiated, extra = _offer_from(request)
        if status:
            self._respond_new(request, status, addr, transport, now, extra=extra)
            return
        if not call.outbound:
            negotiated = self._core.inbound.media_for(negotiated, call.addr)
        call.sdp_version += 1
        if negotiated is None:
            # Offer-less re-INVITE: offer our current media again; the answer comes in the ACK.
            body = build_sdp(
                host=call.rtp_host, port=call.rtp_port, session_id=call.session_id, version=call.sdp_version
            )
        else:
            call.negotiated = negotiated
            if call.dialog is not None:
                call.dialog.local_hold = negotiated.on_hold
            body = build_answer(
                negotiated, host=call.rtp_host, port=call.rtp_port, session_id=call.session_id, version=call.sdp_version
            )
            self._core.emit(MediaUpdated(call.call_id, negotiated))
        self._respond_in_dialog(request, 200, addr, transport, now, body=body, contact=True)

    # -- server transactions ----------------------------------------------------------------------------------
    def _server_key(self, request: SipRequest, addr: Addr) -> ServerKey:
        """RFC 3261 17.2.3 matching (branch, sent-by, method), and the source: a request from elsewhere is not a
        retransmission of ours (the response to it would go to the first sender), so it gets its own answer."""
        via = parse_via(request.headers.get_all("Via")[0])
        method = "INVITE" if request.method == "ACK" else request.method
        branch = via.branch or ""
        if not branch.startswith("z9hG4bK"):
            # RFC 2543 peers: fall back to the dialog-ish identity of the request.
            seq, _ = parse_cseq(request.headers.get("CSeq") or "")
            branch = f"{request.headers.get('Call-ID')}/{seq}/{tag_of(request.headers.get('From'))}"
        return (branch, f"{via.host}:{via.port}", method, addr)

    def _new_tx(self, request: SipRequest, addr: Addr, transport: str, now: float) -> ServerTransaction:
        key = self._server_key(request, addr)
        tx: ServerTransaction
        if request.method == "INVITE":
            tx = ServerInviteTransaction(request, transport == "tcp", now)
        else:
            tx = ServerNonInviteTransaction(request, transport == "tcp", now)
        self._server_tx[key] = (tx, addr, transport)
        return tx

    def _respond(self, tx: ServerTransaction, resp: SipResponse, addr: Addr, transport: str, now: float) -> None:
        for output in tx.respond(resp, now):
            self._output(output, addr, transport)

    def _tx_respond(self, tx: ServerTransaction, resp: SipResponse, now: float) -> None:
        """Respond through a transaction we still hold (one that has terminated sends nothing)."""
        entry = next((entry for entry in self._server_tx.values() if entry[0] is tx), None)
        if entry is not None:
            self._respond(tx, resp, entry[1], entry[2], now)

    def _output(self, output: TxOutput, addr: Addr, transport: str) -> None:
        if isinstance(output, SendBytes):
            self._core.send(output.data, addr, transport)

    def _respond_new(
        self, request: SipRequest, status: int, addr: Addr, transport: str, now: float, *, extra: Headers | None = None
    ) -> None:
        """Answer a request with a final response through a fresh server transaction."""
        if request.method == "ACK":
            return
        tx = self._new_tx(request, addr, transport, now)
        resp = self._core.response(request, status, to_tag=new_tag() if status >= 200 else None)
        for name, value in extra or Headers():
            resp.headers.add(name, value)
        self._respond(tx, resp, addr, transport, now)

    def _respond_in_dialog(
        self,
        request: SipRequest,
        status: int,
        addr: Addr,
        transport: str,
        now: float,
        *,
        body: bytes = b"",
        contact: bool = False,
    ) -> None:
        tx = self._new_tx(request, addr, transport, now)
        resp = self._core.response(request, status)
        if contact:
            resp.headers.add("Contact", self._core.contact(transport))
        if body:
            resp.headers.add("Content-Type", "application/sdp")
            resp.body = body
        self._respond(tx, resp, addr, transport, now)


def _offer_from(request: SipRequest) -> tuple[int, Negotiated | None, Headers | None]:
    """(status, negotiated, extra headers): 0 means the body is acceptable."""
    if not request.body:
        return 0, None, None
    ctype = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != "application/sdp":
        return 415, None, Headers([("Accept", "application/sdp")])
    encoding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        return 415, None, Headers([("Accept-Encoding", "identity")])
    try:
        return 0, negotiate(parse_sdp(request.body)), None
    except NoCommonCodec:
        return 488, None, None
    except SdpError:
        return 400, None, None
