"""The sans-I/O SIP user agent: feed it bytes and the time, take back bytes to send and call events.

``SipEndpoint`` is the UA core of RFC 3261 for a single listening address: it owns the transactions (see
``transaction``), the dialogs (see ``dialog``) and the offer/answer (see ``sdp``) of every call on that address,
inbound and outbound. It never touches a socket or a clock: ``receive_datagram``/``receive_stream`` take bytes
and the current time, ``on_timer(now)`` runs retransmissions, and ``poll()`` hands back what to send where and
what happened (see ``events``). The asyncio layer in ``transport`` only moves bytes and calls these.

The work is split as RFC 3261 splits a UA: ``uac`` sends requests and reads their responses, ``uas`` receives
requests and answers them; both act on the calls in ``core``. This class routes bytes and commands between them.

Signalling is symmetric: responses go back to the address a request came from (as with ``rport``), and
in-dialog requests go to the address the dialog's INVITE came from or went to, so NAT'd peers work. The
``InboundPolicy`` says which sources may call us (others get 403) and where an inbound call's RTP may go.
"""

from __future__ import annotations

from engine.telephony.sip.core import CallState, EndpointCore
from engine.telephony.sip.dialog import DialogError
from engine.telephony.sip.events import Addr, CallEnded, Credentials, MessageDropped, Outgoing, SipEvent
from engine.telephony.sip.inbound_policy import InboundPolicy
from engine.telephony.sip.message import SipMessage, SipParseError, SipResponse, StreamParser, parse_message
from engine.telephony.sip.uac import UserAgentClient
from engine.telephony.sip.uas import UserAgentServer


class SipEndpoint:
    def __init__(
        self, host: str, port: int, *, user_agent: str = "closerr", inbound: InboundPolicy | None = None
    ) -> None:
        self._core = EndpointCore(host, port, user_agent, inbound)
        self._uac = UserAgentClient(self._core)
        self._uas = UserAgentServer(self._core, self._uac)
        self._streams: dict[Addr, StreamParser] = {}

    @property
    def host(self) -> str:
        return self._core.host

    @property
    def port(self) -> int:
        return self._core.port

    @property
    def user_agent(self) -> str:
        return self._core.user_agent

    # -- feeding --------------------------------------------------------------------------------------------
    def receive_datagram(self, data: bytes, addr: Addr, now: float) -> None:
        if not data.strip(b"\r\n"):
            return  # RFC 5626 keep-alive
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self._malformed(exc, addr, "udp")
            return
        self._dispatch(message, addr, "udp", now)

    def receive_stream(self, data: bytes, addr: Addr, now: float) -> None:
        parser = self._streams.setdefault(addr, StreamParser())
        for item in parser.feed(data):
            if isinstance(item, SipParseError):
                self._malformed(item, addr, "tcp")
            else:
                self._dispatch(item, addr, "tcp", now)

    def connection_lost(self, addr: Addr) -> None:
        self._streams.pop(addr, None)

    def poll(self) -> tuple[list[Outgoing], list[SipEvent]]:
        out, events = self._core.out, self._core.events
        self._core.out, self._core.events = [], []
        return out, events

    def next_deadline(self) -> float | None:
        deadlines = [d for d in (self._uas.next_deadline(), self._uac.next_deadline()) if d is not None]
        return min(deadlines, default=None)

    def on_timer(self, now: float) -> None:
        self._uas.on_timer(now)
        self._uac.on_timer(now)
        self._uas.retransmit_ok(now)
        self._forget_ended_calls()

    @property
    def active_calls(self) -> int:
        return sum(1 for c in self._core.calls.values() if c.state is not CallState.ENDED)

    def call_state(self, call_id: str) -> CallState | None:
        call = self._core.calls.get(call_id)
        return call.state if call else None

    def requests_in_flight(self) -> int:
        """Requests we sent that have had no final response yet (a BYE waiting for its 200, say)."""
        return self._uac.requests_in_flight()

    # -- the TU's commands: inbound ---------------------------------------------------------------------------
    def ring(self, call_id: str, now: float) -> None:
        self._uas.ring(call_id, now)

    def answer(self, call_id: str, rtp_host: str, rtp_port: int, now: float) -> bytes | None:
        """Send 200 OK with our SDP (the answer, or an offer if the INVITE had none). Returns the SDP."""
        return self._uas.answer(call_id, rtp_host, rtp_port, now)

    def reject(self, call_id: str, status: int, now: float) -> None:
        self._uas.reject(call_id, status, now)

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
        return self._uac.invite(
            target_uri=target_uri,
            from_uri=from_uri,
            addr=addr,
            rtp_host=rtp_host,
            rtp_port=rtp_port,
            now=now,
            transport=transport,
            credentials=credentials,
            display_name=display_name,
        )

    def hangup(self, call_id: str, now: float, reason: str = "hangup") -> None:
        """End the call from our side in whatever way its state needs: CANCEL, BYE or an error response."""
        call = self._core.calls.get(call_id)
        if call is None or call.state is CallState.ENDED:
            return
        if call.state is CallState.INCOMING:
            self._uas.reject(call_id, 480, now)
            self._core.emit(CallEnded(call_id, reason, by_remote=False))
        elif call.state in (CallState.CALLING, CallState.EARLY):
            self._uac.cancel(call, reason, now)
        else:
            self._uac.end_with_bye(call, reason, now)

    def dialog_ids(self, call_id: str) -> tuple[str, str, str] | None:
        """(Call-ID, our tag, the peer's tag) of an answered call: what a ``Replaces`` names (RFC 3891)."""
        call = self._core.calls.get(call_id)
        if call is None or call.dialog is None:
            return None
        return call.dialog.call_id, call.dialog.local_tag, call.dialog.remote_tag

    def refer(self, call_id: str, refer_to: str, now: float) -> bool:
        """Send REFER in an answered call's dialog (RFC 3515); False when there is no such dialog."""
        call = self._core.calls.get(call_id)
        return call is not None and self._uac.refer(call, refer_to, now)

    # -- internals --------------------------------------------------------------------------------------------
    def _malformed(self, exc: SipParseError, addr: Addr, transport: str) -> None:
        if not self._uas.malformed(exc, addr, transport):
            self._core.emit(MessageDropped(str(exc), addr))

    def _dispatch(self, message: SipMessage, addr: Addr, transport: str, now: float) -> None:
        try:
            if isinstance(message, SipResponse):
                self._uac.on_response(message, now)
            else:
                self._uas.receive(message, addr, transport, now)
        except (SipParseError, DialogError) as exc:
            # A header that parsed at the framing level but not in detail (a Via, a From URI).
            if isinstance(message, SipResponse):
                self._core.emit(MessageDropped(str(exc), addr))
            else:
                self._malformed(SipParseError(str(exc), message), addr, transport)

    def _forget_ended_calls(self) -> None:
        """Forget ended calls once none of their transactions is still absorbing retransmissions."""
        live_call_ids = self._uac.live_call_ids() | self._uas.live_call_ids()
        for call_id, call in list(self._core.calls.items()):
            if call.state is CallState.ENDED and call_id not in live_call_ids:
                del self._core.calls[call_id]
