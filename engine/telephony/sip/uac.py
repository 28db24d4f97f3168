"""The client half of ``SipEndpoint`` (RFC 3261's UAC): the requests we send and what their responses mean.

It places outbound calls (INVITE, digest retry, CANCEL, the ACK for a 2xx), sends the BYE that ends any
answered call, inbound or outbound, since a UA ending a dialog acts as its UAC, and the REFER that asks the peer
to transfer the call (RFC 3515).
"""

from __future__ import annotations

import secrets

from engine.telephony.sip.auth import DigestChallenge, digest_response, parse_challenge
from engine.telephony.sip.core import ALLOW, Call, CallState, EndpointCore, tag_of, usable_sdp
from engine.telephony.sip.dialog import Dialog, DialogError, DialogState, new_tag
from engine.telephony.sip.events import (
    Addr,
    CallAnswered,
    CallEnded,
    CallFailed,
    CallProgress,
    Credentials,
    MessageDropped,
    ReferAnswered,
)
from engine.telephony.sip.message import (
    Headers,
    SipParseError,
    SipRequest,
    SipResponse,
    parse_cseq,
    parse_name_addr,
    parse_via,
)
from engine.telephony.sip.sdp import build_sdp
from engine.telephony.sip.transaction import (
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    ClientTransaction,
    Deliver,
    SendBytes,
    TimedOut,
    TxOutput,
)

_MAX_AUTH_ATTEMPTS = 2


class UserAgentClient:
    def __init__(self, core: EndpointCore) -> None:
        self._core = core
        self._client_tx: dict[tuple[str, str], tuple[ClientTransaction, Addr, str, str | None]] = {}

    # -- commands ---------------------------------------------------------------------------------------------
    def invite(
        self,
        *,
        target_uri: str,
        from_uri: str,
        addr: Addr,
        rtp_host: str,
        rtp_port: int,
        now: float,
        transport: str,
        credentials: Credentials | None,
        display_name: str,
    ) -> str:
        core = self._core
        call_id = f"{secrets.token_hex(12)}@{core.host}"
        local_tag = new_tag()
        headers = Headers()
        headers.add("Via", core.via(transport))
        headers.add("Max-Forwards", "70")
        display = f'"{display_name}" ' if display_name else ""
        headers.add("From", f"{display}<{from_uri}>;tag={local_tag}")
        headers.add("To", f"<{target_uri}>")
        headers.add("Call-ID", call_id)
        headers.add("CSeq", f"{secrets.randbelow(10_000) + 1} INVITE")
        headers.add("Contact", core.contact(transport))
        headers.add("Allow", ALLOW)
        headers.add("User-Agent", core.user_agent)
        headers.add("Content-Type", "application/sdp")
        call = Call(
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
        core.calls[call_id] = call
        self._start_invite(call, now)
        return call_id

    def cancel(self, call: Call, reason: str, now: float) -> None:
        """Give up on a call not answered yet."""
        call.cancel_requested = True
        if call.got_provisional:
            self._send_cancel(call, now)
        # Else the CANCEL goes out with the first provisional (RFC 3261 9.1).
        self._core.emit(CallEnded(call.call_id, reason, by_remote=False))
        call.state = CallState.ENDED

    def end_with_bye(self, call: Call, reason: str, now: float, notify: bool = True) -> None:
        if call.dialog is not None and call.dialog.state is not DialogState.TERMINATED:
            bye = call.dialog.new_request(
                "BYE",
                via_host=self._core.host,
                via_port=self._core.port,
                transport=call.transport,
                contact=self._core.contact(call.transport),
            )
            bye.headers.remove("Contact")
            call.dialog.state = DialogState.TERMINATED
            self._start_non_invite(bye, call.addr, call.transport, None, now)
        was_ended = call.state is CallState.ENDED
        call.state = CallState.ENDED
        call.ok_next = None
        if notify and not was_ended:
            self._core.emit(CallEnded(call.call_id, reason, by_remote=False))

    def refer(self, call: Call, refer_to: str, now: float) -> bool:
        """Ask the peer to call ``refer_to`` in place of us (a blind transfer, RFC 3515); the answer and the
        progress come back as ``ReferAnswered`` and ``ReferProgress``. False when the call has no confirmed
        dialog to send it in."""
        dialog = call.dialog
        if dialog is None or dialog.state is not DialogState.CONFIRMED or call.state is not CallState.ANSWERED:
            return False
        request = dialog.new_request(
            "REFER",
            via_host=self._core.host,
            via_port=self._core.port,
            transport=call.transport,
            contact=self._core.contact(call.transport),
        )
        request.headers.add("Refer-To", f"<{refer_to}>")
        request.headers.add("Referred-By", f"<{parse_name_addr(dialog.local_uri).uri}>")
        request.headers.add("User-Agent", self._core.user_agent)
        self._start_non_invite(request, call.addr, call.transport, call.call_id, now)
        return True

    # -- time and bookkeeping ---------------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        return min((d for tx, *_ in self._client_tx.values() if (d := tx.next_deadline()) is not None), default=None)

    def on_timer(self, now: float) -> None:
        for key, (tx, addr, transport, call_id) in list(self._client_tx.items()):
            for output in tx.on_timer(now):
                self._output(output, tx, addr, transport, call_id, now)
            if tx.terminated:
                self._client_tx.pop(key, None)

    def live_call_ids(self) -> set[str]:
        """Calls whose transactions still await or absorb responses."""
        return {call_id for *_, call_id in self._client_tx.values() if call_id}

    def requests_in_flight(self) -> int:
        """Requests sent that have had no final response yet."""
        return sum(1 for tx, *_ in self._client_tx.values() if tx.state in ("trying", "proceeding"))

    # -- responses --------------------------------------------------------------------------------------------
    def on_response(self, response: SipResponse, now: float) -> None:
        vias = response.headers.get_all("Via")
        branch = parse_via(vias[0]).branch or ""
        _, method = parse_cseq(response.headers.get("CSeq") or "")
        entry = self._client_tx.get((branch, method))
        if entry is None:
            # A 2xx retransmission after the INVITE transaction ended: re-ACK it (RFC 3261 13.2.2.4).
            call = self._core.calls.get(response.headers.get("Call-ID") or "")
            if method == "INVITE" and 200 <= response.status < 300 and call is not None and call.ack_data:
                self._core.send(call.ack_data, call.addr, call.transport)
            return
        tx, tx_addr, transport, call_id = entry
        for output in tx.receive(response, now):
            self._output(output, tx, tx_addr, transport, call_id, now)

    def _output(
        self, output: TxOutput, tx: ClientTransaction, addr: Addr, transport: str, call_id: str | None, now: float
    ) -> None:
        if isinstance(output, SendBytes):
            self._core.send(output.data, addr, transport)
            return
        call = self._core.calls.get(call_id) if call_id else None
        if call is None:
            return
        if isinstance(output, TimedOut):
            if tx.request.method == "REFER":
                self._core.emit(ReferAnswered(call.call_id, 408, "Request Timeout"))
            elif tx.request.method == "INVITE" and call.state in (CallState.CALLING, CallState.EARLY):
                call.state = CallState.ENDED
                self._core.emit(CallFailed(call.call_id, 408, "Request Timeout"))
            return
        assert isinstance(output, Deliver)
        if tx.request.method == "INVITE" and tx is call.client_tx:
            self._on_invite_response(call, output.response, now)
        elif tx.request.method == "REFER" and output.response.status >= 200:
            self._core.emit(ReferAnswered(call.call_id, output.response.status, output.response.reason))

    def _on_invite_response(self, call: Call, response: SipResponse, now: float) -> None:
        if response.status < 200:
            self._on_provisional(call, response, now)
        elif response.status < 300:
            self._on_invite_2xx(call, response, now)
        elif not self._retried_with_auth(call, response, now) and call.state is not CallState.ENDED:
            call.state = CallState.ENDED
            self._core.emit(CallFailed(call.call_id, response.status, response.reason))

    def _on_provisional(self, call: Call, response: SipResponse, now: float) -> None:
        if response.status == 100:
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
            negotiated = usable_sdp(response.body)
            if negotiated is not None:
                call.negotiated = negotiated
        if tag_of(response.headers.get("To")) and call.dialog is None:
            try:
                call.dialog = Dialog.as_uac(call.invite, response)
                call.state = CallState.EARLY
            except DialogError:
                pass
        self._core.emit(CallProgress(call.call_id, response.status, negotiated))

    def _on_invite_2xx(self, call: Call, response: SipResponse, now: float) -> None:
        if call.dialog is None or call.dialog.remote_tag != tag_of(response.headers.get("To")):
            try:
                call.dialog = Dialog.as_uac(call.invite, response)
            except DialogError:
                self._core.emit(MessageDropped("2xx without To tag", call.addr))
                return
        call.dialog.update_from_response(response)
        self._send_ack(call, call.dialog)
        if call.state is CallState.ANSWERED:
            return  # a retransmitted 2xx: re-ACKed above
        if call.state is CallState.ENDED or call.cancel_requested:
            # The 200 crossed our CANCEL: the call exists now, so end it properly.
            call.state = CallState.ANSWERED
            self.end_with_bye(call, "cancelled", now, notify=False)
            return
        negotiated = call.negotiated
        if response.body:
            negotiated = usable_sdp(response.body)
            if negotiated is not None:
                call.negotiated = negotiated
        call.state = CallState.ANSWERED
        if negotiated is None:
            self.end_with_bye(call, "no usable answer SDP", now, notify=False)
            self._core.emit(CallFailed(call.call_id, 488, "Not Acceptable Here"))
            return
        self._core.emit(CallAnswered(call.call_id, negotiated))

    def _send_ack(self, call: Call, dialog: Dialog) -> None:
        seq, _ = parse_cseq(call.invite.headers.get("CSeq") or "")
        ack = dialog.new_request(
            "ACK",
            via_host=self._core.host,
            via_port=self._core.port,
            transport=call.transport,
            contact=self._core.contact(call.transport),
            cseq=seq,
        )
        ack.headers.remove("Contact")
        call.ack_data = ack.serialize()
        self._core.send(call.ack_data, call.addr, call.transport)

    def _retried_with_auth(self, call: Call, response: SipResponse, now: float) -> bool:
        """Answer a 401/407 with our credentials (twice at most); False where that is not possible."""
        status = response.status
        if (
            status not in (401, 407)
            or call.credentials is None
            or call.auth_attempts >= _MAX_AUTH_ATTEMPTS
            or call.cancel_requested
        ):
            return False
        header = response.headers.get("WWW-Authenticate" if status == 401 else "Proxy-Authenticate")
        if not header:
            return False
        try:
            challenge = parse_challenge(header)
        except SipParseError:
            return False
        self._retry_with_auth(call, challenge, status, now)
        return True

    def _retry_with_auth(self, call: Call, challenge: DigestChallenge, status: int, now: float) -> None:
        assert call.credentials is not None
        call.auth_attempts += 1
        headers = call.invite.headers.copy()
        headers.set("Via", self._core.via(call.transport))
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

    # -- requests ---------------------------------------------------------------------------------------------
    def _start_invite(self, call: Call, now: float) -> None:
        tx = ClientInviteTransaction(call.invite, call.transport == "tcp", now)
        branch = parse_via(call.invite.headers.get_all("Via")[0]).branch or ""
        self._client_tx[(branch, "INVITE")] = (tx, call.addr, call.transport, call.call_id)
        call.client_tx = tx
        for output in tx.initial:
            self._output(output, tx, call.addr, call.transport, call.call_id, now)

    def _start_non_invite(
        self, request: SipRequest, addr: Addr, transport: str, call_id: str | None, now: float
    ) -> None:
        tx = ClientNonInviteTransaction(request, transport == "tcp", now)
        branch = parse_via(request.headers.get_all("Via")[0]).branch or ""
        self._client_tx[(branch, request.method)] = (tx, addr, transport, call_id)
        for output in tx.initial:
            self._output(output, tx, addr, transport, call_id, now)

    def _send_cancel(self, call: Call, now: float) -> None:
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
