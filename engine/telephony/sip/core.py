"""What the two halves of ``SipEndpoint`` share: the calls, the output queues and how the endpoint names itself.

The client half (``uac``: requests we send) and the server half (``uas``: requests we receive) act on the same
calls, since an outbound call still receives a BYE and an inbound one may need us to send one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from engine.telephony.sip.dialog import Dialog, new_branch
from engine.telephony.sip.events import Addr, Credentials, Outgoing, SipEvent
from engine.telephony.sip.inbound_policy import InboundPolicy
from engine.telephony.sip.message import SipParseError, SipRequest, SipResponse, make_response, parse_name_addr
from engine.telephony.sip.sdp import Negotiated, SdpError, negotiate, parse_sdp
from engine.telephony.sip.transaction import T1, ClientInviteTransaction, ServerInviteTransaction

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"


class CallState(StrEnum):
    INCOMING = "incoming"  # inbound INVITE received, not answered yet
    CALLING = "calling"  # outbound INVITE sent
    EARLY = "early"  # outbound: provisional with a tag received
    ANSWERED = "answered"  # 200 sent (inbound) / received (outbound), media flowing
    ENDED = "ended"


@dataclass
class Call:
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


class EndpointCore:
    """The calls of one listening address, and the bytes and events waiting for ``SipEndpoint.poll``."""

    def __init__(self, host: str, port: int, user_agent: str, inbound: InboundPolicy | None = None) -> None:
        self.host = host
        self.port = port
        self.user_agent = user_agent
        self.inbound = inbound or InboundPolicy()
        self.calls: dict[str, Call] = {}
        self.out: list[Outgoing] = []
        self.events: list[SipEvent] = []

    def send(self, data: bytes, addr: Addr, transport: str) -> None:
        self.out.append(Outgoing(data, addr, transport))

    def emit(self, event: SipEvent) -> None:
        self.events.append(event)

    def via(self, transport: str) -> str:
        return f"SIP/2.0/{transport.upper()} {self.host}:{self.port};branch={new_branch()};rport"

    def contact(self, transport: str) -> str:
        suffix = ";transport=tcp" if transport == "tcp" else ""
        return f"<sip:closerr@{self.host}:{self.port}{suffix}>"

    def response(self, request: SipRequest, status: int, *, to_tag: str | None = None) -> SipResponse:
        resp = make_response(request, status, to_tag=to_tag)
        resp.headers.add("Server", self.user_agent)
        return resp


def tag_of(header: str | None) -> str | None:
    if not header:
        return None
    try:
        return parse_name_addr(header).tag
    except SipParseError:
        return None


def usable_sdp(body: bytes) -> Negotiated | None:
    """The media an SDP body settles on, or None where it cannot be parsed or shares no codec with us."""
    try:
        return negotiate(parse_sdp(body))
    except SdpError:
        return None
