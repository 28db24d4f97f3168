"""The sans-I/O SIP user agent: feed it bytes and the time, take back bytes to send and call events.

``SipEndpoint`` is the UA core of RFC 3261 for a single listening address: it owns the transactions (see
``transaction``), the dialogs (see ``dialog``) and the offer/answer (see ``sdp``) of every call on that address,
inbound and outbound. It never touches a socket or a clock: ``receive_datagram``/``receive_stream`` take bytes
and the current time, ``on_timer(now)`` runs retransmissions, and ``poll()`` hands back what to send where and
what happened. The asyncio layer in ``transport`` only moves bytes and calls these.

Signalling is symmetric: responses go back to the address a request came from (as with ``rport``), and
in-dialog requests go to the address the dialog's INVITE came from or went to, so NAT'd peers work.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from engine.telephony.sip.auth import DigestChallenge, digest_response, parse_challenge
from engine.telephony.sip.dialog import Dialog, DialogError, DialogState, new_branch, new_tag
from engine.telephony.sip.message import (
    Headers,
    SipMessage,
    SipParseError,
    SipRequest,
    SipResponse,
    StreamParser,
    make_response,
    parse_cseq,
    parse_message,
    parse_name_addr,
    parse_uri,
    parse_via,
)
from engine.telephony.sip.sdp import (
    Negotiated,
    NoCommonCodec,
    SdpError,
    build_answer,
    build_sdp,
    negotiate,
    parse_sdp,
)
from engine.telephony.sip.transaction import (
    T1,
    T2,
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    ClientTransaction,
    Deliver,
    SendBytes,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    ServerTransaction,
    TimedOut,
    TxOutput,
)

log = logging.getLogger(__name__)

Addr = tuple[str, int]
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Outgoing:
    data: bytes
    addr: Addr
    transport: str  # "udp" | "tcp"


# -- events for the transaction user (the call layer) -----------------------------------------------------------
@dataclass(frozen=True)
class IncomingCall:
    call_id: str
    from_user: str  # a phone number: never log it
    to_user: str  # the dialed number, to find the campaign
    negotiated: Negotiated | None  # None: the INVITE had no offer (we offer in the 200)
    addr: Addr
    transport: str


@dataclass(frozen=True)
class CallProgress:
    """Outbound: 180/183. ``negotiated`` is set when the provisional response carried SDP (early media)."""

    call_id: str
    status: int
    negotiated: Negotiated | None


@dataclass(frozen=True)
class CallAnswered:
    call_id: str
    negotiated: Negotiated | None


@dataclass(frozen=True)
class CallConfirmed:
    """Inbound: the ACK for our 200 arrived (with the answer when we made the offer)."""

    call_id: str
    negotiated: Negotiated | None


@dataclass(frozen=True)
class CallFailed:
    """Outbound: the INVITE got a final error (or 408 on timeout)."""

    call_id: str
    status: int
    reason: str


@dataclass(frozen=True)
class CallEnded:
    call_id: str
    reason: str
    by_remote: bool


@dataclass(frozen=True)
class MediaUpdated:
    """A re-INVITE changed the media: hold, resume or a new address."""

    call_id: str
    negotiated: Negotiated


@dataclass(frozen=True)
class DtmfInfo:
    """A digit sent with SIP INFO (application/dtmf-relay) rather than RFC 4733."""

    call_id: str
    digit: str


@dataclass(frozen=True)
class MessageDropped:
    """Bytes that could not be answered; the asyncio layer logs it (without the content)."""

    reason: str
    addr: Addr


SipEvent = (
    IncomingCall
    | CallProgress
    | CallAnswered
    | CallConfirmed
    | CallFailed
    | CallEnded
    | MediaUpdated
    | DtmfInfo
    | MessageDropped
)


class CallState(StrEnum):
    INCOMING = "incoming"  # inbound INVITE received, not answered yet
    CALLING = "calling"  # outbound INVITE sent
    EARLY = "early"  # outbound: provisional with a tag received
    ANSWERED = "answered"  # 200 sent (inbound) / received (outbound), media flowing
    ENDED = "ended"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


@dataclass
class _Call:
    call_id: str
    outbound: bool
    addr: Addr
    transport: str
    invite: SipRequest
    state: CallState
    local_tag: str
    session_id: int = field(default_factory=lambda: secrets.randbelow(2**31))
    sdp_version: int = 1
    dialog: Dialog | None = None
    negotiated: Negotiated | None = None
    rtp_host: str = ""
    rtp_port: int = 0
    invite_tx: ServerInviteTransaction | None = None  # inbound
    client_tx: ClientInviteTransaction | None = None  # outbound
    # UAS: 2xx retransmission until the ACK (RFC 3261 13.3.1.4).
    ok_data: bytes | None = None
    ok_next: float | None = None
    ok_interval: float = T1
    ok_give_up: float = 0.0
    offered_in_ok: bool = False
    # UAC
    credentials: Credentials | None = None
    auth_attempts: int = 0
    ack_data: bytes | None = None
    cancel_requested: bool = False
    got_provisional: bool = False


def _user_of(header: str | None) -> str:
    if not header:
        return ""
    try:
        return parse_uri(parse_name_addr(header).uri).user
    except SipParseError:
        return ""


class SipEndpoint:
    def __init__(self, host: str, port: int, *, user_agent: str = "closerr") -> None:
        self.host = host
        self.port = port
        self.user_agent = user_agent
        self._out: list[Outgoing] = []
        self._events: list[SipEvent] = []
        self._calls: dict[str, _Call] = {}
        self._server_tx: dict[tuple[str, str, str], tuple[ServerTransaction, Addr, str]] = {}
        self._client_tx: dict[tuple[str, str], tuple[ClientTransaction, Addr, str, str | None]] = {}
        self._streams: dict[Addr, StreamParser] = {}

    # -- feeding --------------------------------------------------------------------------------------------
    def receive_datagram(self, data: bytes, addr: Addr, now: float) -> None:
        if not data.strip(b"\r\n"):
            return  # RFC 5626 keep-alive
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self._malformed(exc, addr, "udp", now)
            return
        self._dispatch(message, addr, "udp", now)

    def receive_stream(self, data: bytes, addr: Addr, now: float) -> None:
        parser = self._streams.setdefault(addr, StreamParser())
        for item in parser.feed(data):
            if isinstance(item, SipParseError):
                self._malformed(item, addr, "tcp", now)
            else:
                self._dispatch(item, addr, "tcp", now)

    def connection_lost(self, addr: Addr) -> None:
        self._streams.pop(addr, None)

    def poll(self) -> tuple[list[Outgoing], list[SipEvent]]:
        out, events = self._out, self._events
        self._out, self._events = [], []
        return out, events

    def next_deadline(self) -> float | None:
        deadlines = [d for tx, *_ in self._server_tx.values() if (d := tx.next_deadline()) is not None]
        deadlines += [d for tx, *_ in self._client_tx.values() if (d := tx.next_deadline()) is not None]
        deadlines += [c.ok_next for c in self._calls.values() if c.ok_next is not None]
        return min(deadlines, default=None)

    def on_timer(self, now: float) -> None:
        for key, (stx, addr, transport) in list(self._server_tx.items()):
            for output in stx.on_timer(now):
                self._server_output(output, addr, transport)
            if stx.terminated:
                del self._server_tx[key]
        for ckey, (ctx, addr, transport, call_id) in list(self._client_tx.items()):
            for output in ctx.on_timer(now):
                self._client_output(output, ctx, addr, transport, call_id, now)
            if ctx.terminated:
                self._client_tx.pop(ckey, None)
        for call in list(self._calls.values()):
            if call.ok_next is not None and call.ok_next <= now and call.ok_data is not None:
                if now >= call.ok_give_up:
                    # No ACK in 64*T1: the session is dead (RFC 3261 13.3.1.4): BYE and end.
                    call.ok_next = None
                    self._end_with_bye(call, "no ACK for 200", now)
                    continue
                call.ok_interval = min(2 * call.ok_interval, T2)
                call.ok_next = now + call.ok_interval
                self._send(call.ok_data, call.addr, call.transport)
        self._gc()

    @property
    def active_calls(self) -> int:
        return sum(1 for c in self._calls.values() if c.state is not CallState.ENDED)

    def call_state(self, call_id: str) -> CallState | None:
        call = self._calls.get(call_id)
        return call.state if call else None

    # -- the TU's commands: inbound ---------------------------------------------------------------------------
    def ring(self, call_id: str, now: float) -> None:
        call = self._calls.get(call_id)
        if call is None or call.state is not CallState.INCOMING or call.invite_tx is None:
            return
        resp = self._response(call.invite, 180, to_tag=call.local_tag)
        self._tx_respond(call.invite_tx, resp, call, now)

    def answer(self, call_id: str, rtp_host: str, rtp_port: int, now: float) -> bytes | None:
        """Send 200 OK with our SDP (the answer, or an offer if the INVITE had none). Returns the SDP."""
        call = self._calls.get(call_id)
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
        resp = self._response(call.invite, 200, to_tag=call.local_tag)
        resp.headers.add("Contact", self._contact(call.transport))
        resp.headers.add("Allow", ALLOW)
        resp.headers.add("Content-Type", "application/sdp")
        resp.body = sdp
        try:
            call.dialog = Dialog.as_uas(call.invite, call.local_tag, confirmed=True)
        except DialogError:
            self._tx_respond(call.invite_tx, self._response(call.invite, 400, to_tag=call.local_tag), call, now)
            call.state = CallState.ENDED
            return None
        call.state = CallState.ANSWERED
        call.ok_data = resp.serialize()
        call.ok_interval = T1
        if call.transport == "udp":
            call.ok_next = now + T1
        call.ok_give_up = now + 64 * T1
        self._tx_respond(call.invite_tx, resp, call, now)
        return sdp

    def reject(self, call_id: str, status: int, now: float) -> None:
        call = self._calls.get(call_id)
        if call is None or call.state is not CallState.INCOMING or call.invite_tx is None:
            return
        self._tx_respond(call.invite_tx, self._response(call.invite, status, to_tag=call.local_tag), call, now)
        call.state = CallState.ENDED

    # -- the TU's commands: outbound --------------------------------------------------------------------------
    def invite(
        self,
        *,
        target_uri: str,
        from_uri: str,
        addr: Addr,
        rtp_host: str,
        rtp_port: int,
        now: float,
        transport: str = "udp",
        credentials: Credentials | None = None,
        display_name: str = "",
    ) -> str:
        """Start an outbound call; returns its Call-ID. Results come back as events."""
        call_id = f"{secrets.token_hex(12)}@{self.host}"
        local_tag = new_tag()
        headers = Headers()
        headers.add("Via", self._via(transport))
        headers.add("Max-Forwards", "70")
        display = f'"{display_name}" ' if display_name else ""
        headers.add("From", f"{display}<{from_uri}>;tag={local_tag}")
        headers.add("To", f"<{target_uri}>")
        headers.add("Call-ID", call_id)
        headers.add("CSeq", f"{secrets.randbelow(10_000) + 1} INVITE")
        headers.add("Contact", self._contact(transport))
        headers.add("Allow", ALLOW)
        headers.add("User-Agent", self.user_agent)
        headers.add("Content-Type", "application/sdp")
        call = _Call(
            call_id=call_id,
            outbound=True,
            addr=addr,
            transport=transport,
            invite=SipRequest("INVITE", target_uri, headers),
            state=CallState.CALLING,
            local_tag=local_tag,
            rtp_host=rtp_host,
            rtp_port=rtp_port,
            credentials=credentials,
        )
        call.invite.body = build_sdp(host=rtp_host, port=rtp_port, session_id=call.session_id)
        self._calls[call_id] = call
        self._start_invite(call, now)
        return call_id

    def hangup(self, call_id: str, now: float, reason: str = "hangup") -> None:
        """End the call from our side in whatever way its state needs: CANCEL, BYE or an error response."""
        call = self._calls.get(call_id)
        if call is None or call.state is CallState.ENDED:
            return
        if call.state is CallState.INCOMING:
            self.reject(call_id, 480, now)
            self._events.append(CallEnded(call_id, reason, by_remote=False))
        elif call.state in (CallState.CALLING, CallState.EARLY):
            call.cancel_requested = True
            if call.got_provisional:
                self._send_cancel(call, now)
            # Else the CANCEL goes out with the first provisional (RFC 3261 9.1).
            self._events.append(CallEnded(call_id, reason, by_remote=False))
            call.state = CallState.ENDED
        else:
            self._end_with_bye(call, reason, now)

    # -- internals --------------------------------------------------------------------------------------------
    def _send(self, data: bytes, addr: Addr, transport: str) -> None:
        self._out.append(Outgoing(data, addr, transport))

    def _via(self, transport: str) -> str:
        return f"SIP/2.0/{transport.upper()} {self.host}:{self.port};branch={new_branch()};rport"

    def _contact(self, transport: str) -> str:
        suffix = ";transport=tcp" if transport == "tcp" else ""
        return f"<sip:closerr@{self.host}:{self.port}{suffix}>"

    def _response(self, request: SipRequest, status: int, *, to_tag: str | None = None) -> SipResponse:
        resp = make_response(request, status, to_tag=to_tag)
        resp.headers.add("Server", self.user_agent)
        return resp

    def _malformed(self, exc: SipParseError, addr: Addr, transport: str, now: float) -> None:
        request = exc.partial
        if request is not None and request.method != "ACK" and _answerable(request):
            resp = self._response(request, 400)
            # The reason phrase says what was wrong (RFC 3261 21.4.1), without echoing content.
            resp.reason = f"Bad Request ({str(exc)[:60]})".replace("\r", " ").replace("\n", " ")
            self._send(resp.serialize(), addr, transport)
            return
        self._events.append(MessageDropped(str(exc), addr))

    def _dispatch(self, message: SipMessage, addr: Addr, transport: str, now: float) -> None:
        try:
            if isinstance(message, SipResponse):
                self._on_response(message, addr, now)
            else:
                _stamp_via(message, addr)
                max_forwards = message.headers.get("Max-Forwards")
                if max_forwards is not None and max_forwards.strip() == "0" and message.method != "ACK":
                    self._respond_new(message, 483, addr, transport, now)
                    return
                self._on_request(message, addr, transport, now)
        except (SipParseError, DialogError) as exc:
            # A header that parsed at the framing level but not in detail (a Via, a From URI).
            if isinstance(message, SipRequest):
                self._malformed(SipParseError(str(exc), message), addr, transport, now)
            else:
                self._events.append(MessageDropped(str(exc), addr))

    # server side ----------------------------------------------------------------------------------------------
    def _server_key(self, request: SipRequest) -> tuple[str, str, str]:
        via = parse_via(request.headers.get_all("Via")[0])
        method = "INVITE" if request.method == "ACK" else request.method
        branch = via.branch or ""
        if not branch.startswith("z9hG4bK"):
            # RFC 2543 peers: fall back to the dialog-ish identity of the request.
            seq, _ = parse_cseq(request.headers.get("CSeq") or "")
            branch = f"{request.headers.get('Call-ID')}/{seq}/{_tag_of(request.headers.get('From'))}"
        return (branch, f"{via.host}:{via.port}", method)

    def _tx_respond(self, tx: ServerTransaction, resp: SipResponse, call: _Call | None, now: float) -> None:
        key = next((k for k, (t, _, _) in self._server_tx.items() if t is tx), None)
        if key is None:
            return
        _, addr, transport = self._server_tx[key]
        for output in tx.respond(resp, now):
            self._server_output(output, addr, transport)

    def _server_output(self, output: TxOutput, addr: Addr, transport: str) -> None:
        if isinstance(output, SendBytes):
            self._send(output.data, addr, transport)

    def _respond_new(
        self, request: SipRequest, status: int, addr: Addr, transport: str, now: float, *, extra: Headers | None = None
    ) -> None:
        """Answer a request with a final response through a fresh server transaction."""
        if request.method == "ACK":
            return
        key = self._server_key(request)
        tx: ServerTransaction
        if request.method == "INVITE":
            tx = ServerInviteTransaction(request, transport == "tcp", now)
        else:
            tx = ServerNonInviteTransaction(request, transport == "tcp", now)
        self._server_tx[key] = (tx, addr, transport)
        resp = self._response(request, status, to_tag=new_tag() if status >= 200 else None)
        for name, value in extra or Headers():
            resp.headers.add(name, value)
        for output in tx.respond(resp, now):
            self._server_output(output, addr, transport)

    def _on_request(self, request: SipRequest, addr: Addr, transport: str, now: float) -> None:
        key = self._server_key(request)
        existing = self._server_tx.get(key)
        if existing is not None and not (request.method == "ACK" and existing[0].state != "completed"):
            tx, tx_addr, tx_transport = existing
            for output in tx.receive_request(request, now):
                self._server_output(output, tx_addr, tx_transport)
            return
        to_tag = _tag_of(request.headers.get("To"))
        call = self._calls.get(request.headers.get("Call-ID") or "")
        method = request.method
        if method == "ACK":
            if call is not None and call.dialog is not None:
                self._on_ack(call, request, now)
            return
        if method == "CANCEL":
            self._on_cancel(request, addr, transport, now)
            return
        required = [r for r in request.headers.get_all("Require") if r.lower() not in SUPPORTED_EXTENSIONS]
        if required and method != "CANCEL":
            self._respond_new(request, 420, addr, transport, now, extra=Headers([("Unsupported", ", ".join(required))]))
            return
        if to_tag is not None:
            if call is None or call.dialog is None or call.dialog.local_tag != to_tag:
                self._respond_new(request, 481, addr, transport, now)
                return
            self._in_dialog_request(call, request, addr, transport, now)
            return
        if method == "INVITE":
            self._on_invite(request, addr, transport, now)
        elif method == "OPTIONS":
            allow = Headers(
                [("Allow", ALLOW), ("Accept", "application/sdp"), ("Supported", ""), ("Content-Length", "0")]
            )
            allow.remove("Supported")
            self._respond_new(request, 200, addr, transport, now, extra=allow)
        elif method == "BYE":
            self._respond_new(request, 481, addr, transport, now)
        else:
            self._respond_new(request, 405, addr, transport, now, extra=Headers([("Allow", ALLOW)]))

    def _offer_from(self, request: SipRequest) -> tuple[int, Negotiated | None, Headers | None]:
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

    def _on_invite(self, request: SipRequest, addr: Addr, transport: str, now: float) -> None:
        call_id = request.headers.get("Call-ID") or ""
        if call_id in self._calls:
            # Same Call-ID, no To tag, new branch: a forked or confused peer. Refuse; the original call stands.
            self._respond_new(request, 482, addr, transport, now)
            return
        status, negotiated, extra = self._offer_from(request)
        if status:
            self._respond_new(request, status, addr, transport, now, extra=extra)
            return
        if _tag_of(request.headers.get("From")) is None:
            self._respond_new(request, 400, addr, transport, now)
            return
        tx = ServerInviteTransaction(request, transport == "tcp", now)
        self._server_tx[self._server_key(request)] = (tx, addr, transport)
        call = _Call(
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
        self._calls[call_id] = call
        for output in tx.respond(self._response(request, 100), now):
            self._server_output(output, addr, transport)
        self._events.append(
            IncomingCall(
                call_id,
                _user_of(request.headers.get("From")),
                _user_of(request.headers.get("To")) or _safe_uri_user(request.uri),
                negotiated,
                addr,
                transport,
            )
        )

    def _on_ack(self, call: _Call, request: SipRequest, now: float) -> None:
        if call.outbound or call.state is not CallState.ANSWERED or call.ok_data is None:
            return
        call.ok_data = None
        call.ok_next = None
        negotiated = call.negotiated
        if call.offered_in_ok:
            call.offered_in_ok = False
            if request.body:
                try:
                    negotiated = negotiate(parse_sdp(request.body))
                    call.negotiated = negotiated
                except SdpError:
                    negotiated = None
            if negotiated is None:
                # An unusable answer in the ACK cannot be refused: end the call (RFC 3261 13.3.1.4).
                self._end_with_bye(call, "no usable answer in ACK", now)
                return
        self._events.append(CallConfirmed(call.call_id, negotiated))

    def _on_cancel(self, request: SipRequest, addr: Addr, transport: str, now: float) -> None:
        invite_key = self._server_key(SipRequest("INVITE", request.uri, request.headers))
        entry = self._server_tx.get(invite_key)
        call = self._calls.get(request.headers.get("Call-ID") or "")
        if entry is None or call is None or call.outbound:
            self._respond_new(request, 481, addr, transport, now)
            return
        self._respond_new(request, 200, addr, transport, now)
        if call.state is CallState.INCOMING and call.invite_tx is not None:
            self._tx_respond(call.invite_tx, self._response(call.invite, 487, to_tag=call.local_tag), call, now)
            call.state = CallState.ENDED
            self._events.append(CallEnded(call.call_id, "cancelled", by_remote=True))

    def _in_dialog_request(self, call: _Call, request: SipRequest, addr: Addr, transport: str, now: float) -> None:
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
                self._events.append(CallEnded(call.call_id, "remote hangup", by_remote=True))
        elif method == "INVITE":
            self._on_reinvite(call, request, addr, transport, now)
        elif method == "INFO":
            self._respond_in_dialog(request, 200, addr, transport, now)
            digit = _dtmf_relay_digit(request)
            if digit is not None:
                self._events.append(DtmfInfo(call.call_id, digit))
        elif method in ("OPTIONS", "UPDATE", "NOTIFY"):
            self._respond_in_dialog(request, 200, addr, transport, now)
        else:
            self._respond_new(request, 405, addr, transport, now, extra=Headers([("Allow", ALLOW)]))

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
        key = self._server_key(request)
        tx: ServerTransaction
        if request.method == "INVITE":
            tx = ServerInviteTransaction(request, transport == "tcp", now)
        else:
            tx = ServerNonInviteTransaction(request, transport == "tcp", now)
        self._server_tx[key] = (tx, addr, transport)
        resp = self._response(request, status)
        if contact:
            resp.headers.add("Contact", self._contact(transport))
        if body:
            resp.headers.add("Content-Type", "application/sdp")
            resp.body = body
        for output in tx.respond(resp, now):
            self._server_output(output, addr, transport)

    def _on_reinvite(self, call: _Call, request: SipRequest, addr: Addr, transport: str, now: float) -> None:
        if call.state is not CallState.ANSWERED:
            self._respond_new(request, 491 if call.state is CallState.INCOMING else 481, addr, transport, now)
            return
        status, negotiated, extra = self._offer_from(request)
        if status:
            self._respond_new(request, status, addr, transport, now, extra=extra)
            return
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
            self._events.append(MediaUpdated(call.call_id, negotiated))
        self._respond_in_dialog(request, 200, addr, transport, now, body=body, contact=True)

    # client side ----------------------------------------------------------------------------------------------
    def _start_invite(self, call: _Call, now: float) -> None:
        tx = ClientInviteTransaction(call.invite, call.transport == "tcp", now)
        branch = parse_via(call.invite.headers.get_all("Via")[0]).branch or ""
        self._client_tx[(branch, "INVITE")] = (tx, call.addr, call.transport, call.call_id)
        call.client_tx = tx
        for output in tx.initial:
            self._client_output(output, tx, call.addr, call.transport, call.call_id, now)

    def _start_non_invite(
        self, request: SipRequest, addr: Addr, transport: str, call_id: str | None, now: float
    ) -> None:
        tx = ClientNonInviteTransaction(request, transport == "tcp", now)
        branch = parse_via(request.headers.get_all("Via")[0]).branch or ""
        self._client_tx[(branch, request.method)] = (tx, addr, transport, call_id)
        for output in tx.initial:
            self._client_output(output, tx, addr, transport, call_id, now)

    def _on_response(self, response: SipResponse, addr: Addr, now: float) -> None:
        vias = response.headers.get_all("Via")
        branch = parse_via(vias[0]).branch or ""
        _, method = parse_cseq(response.headers.get("CSeq") or "")
        entry = self._client_tx.get((branch, method))
        if entry is None:
            # A 2xx retransmission after the INVITE transaction ended: re-ACK it (RFC 3261 13.2.2.4).
            call = self._calls.get(response.headers.get("Call-ID") or "")
            if method == "INVITE" and 200 <= response.status < 300 and call is not None and call.ack_data:
                self._send(call.ack_data, call.addr, call.transport)
            return
        tx, tx_addr, transport, call_id = entry
        for output in tx.receive(response, now):
            self._client_output(output, tx, tx_addr, transport, call_id, now)

    def _client_output(
        self, output: TxOutput, tx: ClientTransaction, addr: Addr, transport: str, call_id: str | None, now: float
    ) -> None:
        if isinstance(output, SendBytes):
            self._send(output.data, addr, transport)
            return
        call = self._calls.get(call_id) if call_id else None
        if call is None:
            return
        if isinstance(output, TimedOut):
            if tx.request.method == "INVITE" and call.state in (CallState.CALLING, CallState.EARLY):
                call.state = CallState.ENDED
                self._events.append(CallFailed(call.call_id, 408, "Request Timeout"))
            return
        assert isinstance(output, Deliver)
        if tx.request.method == "INVITE" and tx is call.client_tx:
            self._on_invite_response(call, output.response, now)

    def _on_invite_response(self, call: _Call, response: SipResponse, now: float) -> None:
        status = response.status
        if status < 200:
            if status == 100:
                call.got_provisional = True
                if call.cancel_requested:
                    self._send_cancel(call, now)
                return
            first = not call.got_provisional
            call.got_provisional = True
            if call.cancel_requested:
                if first:
                    self._send_cancel(call, now)
                return
            negotiated = None
            if response.body:
                try:
                    negotiated = negotiate(parse_sdp(response.body))
                    call.negotiated = negotiated
                except SdpError:
                    negotiated = None
            if _tag_of(response.headers.get("To")) and call.dialog is None:
                try:
                    call.dialog = Dialog.as_uac(call.invite, response)
                    call.state = CallState.EARLY
                except DialogError:
                    pass
            self._events.append(CallProgress(call.call_id, status, negotiated))
            return
        if status < 300:
            self._on_invite_2xx(call, response, now)
            return
        if (
            status in (401, 407)
            and call.credentials is not None
            and call.auth_attempts < 2
            and not call.cancel_requested
        ):
            header = response.headers.get("WWW-Authenticate" if status == 401 else "Proxy-Authenticate")
            if header:
                try:
                    challenge = parse_challenge(header)
                except SipParseError:
                    challenge = None
                if challenge is not None:
                    self._retry_with_auth(call, challenge, status, now)
                    return
        if call.state is not CallState.ENDED:
            call.state = CallState.ENDED
            self._events.append(CallFailed(call.call_id, status, response.reason))

    def _on_invite_2xx(self, call: _Call, response: SipResponse, now: float) -> None:
        if call.dialog is None or call.dialog.remote_tag != _tag_of(response.headers.get("To")):
            try:
                call.dialog = Dialog.as_uac(call.invite, response)
            except DialogError:
                self._events.append(MessageDropped("2xx without To tag", call.addr))
                return
        call.dialog.update_from_response(response)
        seq, _ = parse_cseq(call.invite.headers.get("CSeq") or "")
        ack = call.dialog.new_request(
            "ACK",
            via_host=self.host,
            via_port=self.port,
            transport=call.transport,
            contact=self._contact(call.transport),
            cseq=seq,
        )
        ack.headers.remove("Contact")
        call.ack_data = ack.serialize()
        self._send(call.ack_data, call.addr, call.transport)
        if call.state is CallState.ANSWERED:
            return  # a retransmitted 2xx: re-ACKed above
        if call.state is CallState.ENDED or call.cancel_requested:
            # The 200 crossed our CANCEL: the call exists now, so end it properly.
            call.state = CallState.ANSWERED
            self._end_with_bye(call, "cancelled", now, notify=False)
            return
        negotiated = call.negotiated
        if response.body:
            try:
                negotiated = negotiate(parse_sdp(response.body))
                call.negotiated = negotiated
            except SdpError:
                negotiated = None
        call.state = CallState.ANSWERED
        if negotiated is None:
            self._end_with_bye(call, "no usable answer SDP", now, notify=False)
            self._events.append(CallFailed(call.call_id, 488, "Not Acceptable Here"))
            return
        self._events.append(CallAnswered(call.call_id, negotiated))

    def _retry_with_auth(self, call: _Call, challenge: DigestChallenge, status: int, now: float) -> None:
        assert call.credentials is not None
        call.auth_attempts += 1
        headers = call.invite.headers.copy()
        headers.set("Via", self._via(call.transport))
        seq, _ = parse_cseq(headers.get("CSeq") or "")
        headers.set("CSeq", f"{seq + 1} INVITE")
        name = "Authorization" if status == 401 else "Proxy-Authorization"
        headers.remove("Authorization")
        headers.remove("Proxy-Authorization")
        headers.add(
            name,
            digest_response(
                challenge,
                method="INVITE",
                uri=call.invite.uri,
                username=call.credentials.username,
                password=call.credentials.password,
            ),
        )
        call.invite = SipRequest("INVITE", call.invite.uri, headers, call.invite.body)
        call.got_provisional = False
        self._start_invite(call, now)

    def _send_cancel(self, call: _Call, now: float) -> None:
        """CANCEL copies the INVITE's Request-URI, top Via, From, To, Call-ID and CSeq number (RFC 3261 9.1)."""
        invite = call.invite
        headers = Headers()
        headers.add("Via", invite.headers.get_all("Via")[0])
        for route in invite.headers.get_all("Route"):
            headers.add("Route", route)
        headers.add("Max-Forwards", "70")
        headers.add("From", invite.headers.get("From") or "")
        headers.add("To", invite.headers.get("To") or "")
        headers.add("Call-ID", invite.headers.get("Call-ID") or "")
        seq, _ = parse_cseq(invite.headers.get("CSeq") or "")
        headers.add("CSeq", f"{seq} CANCEL")
        self._start_non_invite(SipRequest("CANCEL", invite.uri, headers), call.addr, call.transport, None, now)

    def _end_with_bye(self, call: _Call, reason: str, now: float, notify: bool = True) -> None:
        if call.dialog is not None and call.dialog.state is not DialogState.TERMINATED:
            bye = call.dialog.new_request(
                "BYE",
                via_host=self.host,
                via_port=self.port,
                transport=call.transport,
                contact=self._contact(call.transport),
            )
            bye.headers.remove("Contact")
            call.dialog.state = DialogState.TERMINATED
            self._start_non_invite(bye, call.addr, call.transport, None, now)
        was_ended = call.state is CallState.ENDED
        call.state = CallState.ENDED
        call.ok_next = None
        if notify and not was_ended:
            self._events.append(CallEnded(call.call_id, reason, by_remote=False))

    def _gc(self) -> None:
        """Forget ended calls once none of their transactions is still absorbing retransmissions."""
        live_call_ids: set[str | None] = {c for *_, c in self._client_tx.values() if c}
        live_call_ids |= {tx.request.headers.get("Call-ID") for tx, *_ in self._server_tx.values()}
        for call_id, call in list(self._calls.items()):
            if call.state is CallState.ENDED and call_id not in live_call_ids:
                del self._calls[call_id]


def _stamp_via(request: SipRequest, addr: Addr) -> None:
    """Record where the request really came from in its top Via (RFC 3261 18.2.1 ``received``, RFC 3581
    ``rport``), so every response, and any proxy on the way back, routes to the NAT's public side."""
    vias = request.headers.get_all("Via")
    via = parse_via(vias[0])
    params = dict(via.params)
    if via.host != addr[0]:
        params["received"] = addr[0]
    if "rport" in params:
        params["rport"] = str(addr[1])
        params["received"] = addr[0]
    if params == via.params:
        return
    port = f":{via.port}" if via.port else ""
    host = f"[{via.host}]" if ":" in via.host else via.host
    rendered = "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())
    request.headers.remove("Via")
    for value in [f"SIP/2.0/{via.transport} {host}{port}{rendered}", *vias[1:]]:
        request.headers.add("Via", value)


def _answerable(request: SipRequest) -> bool:
    """Whether a response can be routed and matched: the headers make_response copies must be sane."""
    vias = request.headers.get_all("Via")
    if not vias or not all(request.headers.get(h) for h in ("From", "To", "Call-ID", "CSeq")):
        return False
    try:
        parse_via(vias[0])
        parse_cseq(request.headers.get("CSeq", ""))
        parse_name_addr(request.headers.get("From", ""))
        parse_name_addr(request.headers.get("To", ""))
    except SipParseError:
        return False
    return True


def _tag_of(header: str | None) -> str | None:
    if not header:
        return None
    try:
        return parse_name_addr(header).tag
    except SipParseError:
        return None


def _safe_uri_user(uri: str) -> str:
    try:
        return parse_uri(uri).user
    except SipParseError:
        return ""


def _dtmf_relay_digit(request: SipRequest) -> str | None:
    ctype = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != "application/dtmf-relay":
        return None
    for line in request.body.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition("=")
        if key.strip().lower() == "signal":
            digit = value.strip().upper()
            if len(digit) == 1 and digit in "0123456789*#ABCD":
                return digit
    return None
