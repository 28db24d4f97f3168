"""Where a webhook may be sent: http(s) to public addresses only, so a client cannot make the platform POST to its
own loopback, its private network or a cloud metadata service.

Every address the host resolves to is checked, at campaign creation and again right before each delivery (DNS can
change in between); the delivery then connects to the address that was checked, not to a second lookup. Addresses
inside an operator's allow-list (``CLOSERR_WEBHOOK_ALLOWED_NETWORKS``) pass whatever they are.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# (host, port) -> the addresses to connect to; tests inject their own to play a DNS change.
Resolver = Callable[[str, int], Awaitable[list[str]]]

# A slow resolver must not hold a campaign save or the delivery loop for long.
RESOLVE_TIMEOUT_S = 5.0
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")


class UnsafeDestination(ValueError):
    """The URL may not receive webhooks; the message says why (no address or path of the client's is echoed
    beyond the offending IP)."""


@dataclass(frozen=True)
class Destination:
    """A checked URL: connect to ``address``, but speak to ``host`` (Host header, TLS server name)."""

    scheme: str
    host: str
    port: int
    address: IPAddress


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, fd00::/8"`` -> networks; raises ValueError on a bad entry."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address of a numeric host in any spelling ``inet_aton`` accepts (``2130706433``, ``0x7f.1``, ``127.1``,
    ``0177.0.0.1``): the resolver would connect to it, so it must be judged as that address."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                values.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            else:
                values.append(int(part, 10))
        except ValueError:
            return None
        if values[-1] < 0:
            return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = last
    for i, v in enumerate(head):
        number += v << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, translated, 6to4, Teredo, NAT64): the packets
    may reach that IPv4 host."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]
    number = int(addr)
    if number >> 32 == 0 and number > 1:  # ::a.b.c.d (deprecated IPv4-compatible)
        return ipaddress.IPv4Address(number & 0xFFFFFFFF)
    if addr in _IPV4_TRANSLATED or any(addr in net for net in _NAT64):
        return ipaddress.IPv4Address(number & 0xFFFFFFFF)
    return None


def _refusal(addr: IPAddress) -> str | None:
    checks = (
        ("unspecified", addr.is_unspecified),
        ("loopback", addr.is_loopback),
        ("link-local", addr.is_link_local),
        ("multicast", addr.is_multicast),
        ("private", addr.is_private),
        ("reserved", addr.is_reserved),
        ("site-local", isinstance(addr, ipaddress.IPv6Address) and addr.is_site_local),
        ("not globally routable", not addr.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def refusal(addr: IPAddress, allowed: Sequence[Network] = ()) -> str | None:
    """Why webhooks may not go to ``addr``, or None when they may."""
    if any(addr.version == net.version and addr in net for net in allowed):
        return None
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(addr)
        if embedded is not None:
            inner = refusal(embedded, allowed)
            return None if inner is None else f"{inner} (IPv4 {embedded} inside {addr})"
        if addr.scope_id:
            return "scoped to an interface"
    reason = _refusal(addr)
    return None if reason is None else f"{reason} address {addr}"


def _split(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeDestination(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeDestination("only http and https URLs receive webhooks")
    host = parts.hostname or ""
    if not host:
        raise UnsafeDestination("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeDestination("credentials in the URL are not accepted")
    return scheme, host.rstrip("."), port or (443 if scheme == "https" else 80)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return legacy_ipv4(host)


async def resolve(
    url: str, allowed: Sequence[Network] = (), resolver: Resolver = system_resolver
) -> Destination | None:
    """The checked destination of ``url``; raises UnsafeDestination when any address it resolves to is refused.
    A name that does not resolve now answers None: nothing can be reached there yet, and it is checked again
    before each delivery."""
    scheme, host, port = _split(url)
    literal = _literal(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            found = await asyncio.wait_for(resolver(host, port), RESOLVE_TIMEOUT_S)
        except (OSError, TimeoutError):
            found = []
        addresses = []
        for text in found:
            try:
                addresses.append(ipaddress.ip_address(text))
            except ValueError:
                raise UnsafeDestination(f"{host} resolved to something that is not an address") from None
        if not addresses:
            return None
    # All of them: a name answering one public and one private address could be connected to either.
    for addr in addresses:
        reason = refusal(addr, allowed)
        if reason is not None:
            raise UnsafeDestination(f"webhooks may not be sent to this host: {reason}")
    return Destination(scheme=scheme, host=host, port=port, address=addresses[0])
