"""What the sans-I/O ``SipEndpoint`` hands back from ``poll()``, and what its commands take.

``Outgoing`` is bytes to send; the rest are call events for the transaction user (the call layer in ``server``).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.telephony.sip.sdp import Negotiated

Addr = tuple[str, int]


@dataclass(frozen=True)
class Outgoing:
    data: bytes
    addr: Addr
    transport: str  # "udp" | "tcp"


@dataclass(frozen=True)
class Credentials:
    """The trunk's digest credentials, answering a 401/407 to our INVITE."""

    username: str
    password: str


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
class ReferAnswered:
    """The final response to our REFER (RFC 3515 2.4.2: 202 Accepted, or a refusal; 408 when none came)."""

    call_id: str
    status: int
    reason: str


@dataclass(frozen=True)
class ReferProgress:
    """A NOTIFY of the implicit ``refer`` subscription: the status line of its ``message/sipfrag`` body (RFC 3515
    2.4.4); ``terminated`` when its Subscription-State says the subscription is over."""

    call_id: str
    status: int
    terminated: bool


@dataclass(frozen=True)
class MessageDropped:
    """Bytes that could not be answered; the asyncio layer logs it (without the content)."""

    reason: str
    addr: Addr


@dataclass(frozen=True)
class InviteRefused:
    """An INVITE answered 403 before any call existed (``reason`` is a bounded metric label)."""

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
    | ReferAnswered
    | ReferProgress
    | MessageDropped
    | InviteRefused
)
