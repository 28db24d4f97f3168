"""Who may call us and where our RTP may go: the inbound policy the UAS applies to every INVITE.

Without it, any host could make the engine answer a call (and run an AI agent on it), and an SDP naming a third
party's address would make the engine send a stream of RTP there: a reflection vector. So an INVITE from outside
the allowed networks is challenged for digest credentials when some are configured (401), and otherwise, or with
wrong ones, gets 403 Forbidden; an inbound call's RTP goes to the host the signalling came from, whatever the SDP
says, unless a deployment whose media gateway is apart from its signalling proxy allows the SDP's address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, replace

from engine.telephony.sip.auth import DigestVerifier
from engine.telephony.sip.events import Addr
from engine.telephony.sip.sdp import Negotiated

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_UNSPECIFIED = ("0.0.0.0", "::")  # the SDP's way of putting a stream on hold: no address to replace


@dataclass(frozen=True)
class InboundPolicy:
    # None: any source (a bare SipServer in tests and tools); the engine always names the networks, () for none.
    allowed_networks: tuple[IpNetwork, ...] | None = None
    media_to_sdp_address: bool = False
    digest: DigestVerifier | None = None  # callers from elsewhere may prove these credentials instead

    @classmethod
    def from_cidrs(
        cls, cidrs: Iterable[str], *, media_to_sdp_address: bool = False, digest: DigestVerifier | None = None
    ) -> InboundPolicy:
        networks = tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())
        return cls(networks, media_to_sdp_address, digest)

    def admits(self, addr: Addr) -> bool:
        if self.allowed_networks is None:
            return True
        host = _address(addr[0])
        return host is not None and any(host in network for network in self.allowed_networks)

    def media_for(self, negotiated: Negotiated | None, signalling: Addr) -> Negotiated | None:
        """What an inbound call's RTP is sent to: the SDP's port, at the signalling peer's host."""
        if negotiated is None or self.media_to_sdp_address or negotiated.remote_host in _UNSPECIFIED:
            return negotiated
        return replace(negotiated, remote_host=signalling[0])

    def media_source(self, signalling: Addr) -> str | None:
        """The only host an inbound call's RTP is taken from (None: any, as the SDP may name a gateway)."""
        return None if self.media_to_sdp_address else signalling[0]


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
    return address
