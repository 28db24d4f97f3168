"""The thin asyncio layer under ``SipEndpoint``: a UDP socket and a TCP listener that only move bytes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import cast

log = logging.getLogger(__name__)

Addr = tuple[str, int]
DatagramHandler = Callable[[bytes, Addr], None]
StreamHandler = Callable[[bytes, Addr], None]


class UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, on_data: DatagramHandler) -> None:
        self._on_data = on_data

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:  # type: ignore[override]
        try:
            self._on_data(data, (str(addr[0]), int(addr[1])))  # type: ignore[call-overload, arg-type]
        except Exception:
            # Whatever one datagram does, the socket keeps serving every other call.
            log.exception("sip: failed to handle a datagram")

    def error_received(self, exc: Exception) -> None:
        log.debug("sip udp error: %s", exc)


class TcpConnection(asyncio.Protocol):
    def __init__(self, registry: TcpConnections) -> None:
        self._registry = registry
        self.transport: asyncio.Transport | None = None
        self.addr: Addr = ("", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport by the Protocol contract, but not always an asyncio.Transport subclass: uvloop's
        # (what uvicorn runs under `closerr serve`) only has the same methods.
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.addr = (str(peer[0]), int(peer[1]))
        self._registry.connections[self.addr] = self

    def data_received(self, data: bytes) -> None:
        try:
            self._registry.on_data(data, self.addr)
        except Exception:
            log.exception("sip: failed to handle stream data")

    def connection_lost(self, exc: Exception | None) -> None:
        self._registry.connections.pop(self.addr, None)
        self._registry.on_lost(self.addr)

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


class TcpConnections:
    """Live TCP connections by peer address; opens one when we send to a peer we have none with."""

    def __init__(self, on_data: StreamHandler, on_lost: Callable[[Addr], None]) -> None:
        self.on_data = on_data
        self.on_lost = on_lost
        self.connections: dict[Addr, TcpConnection] = {}
        self._pending: dict[Addr, list[bytes]] = {}

    def protocol(self) -> TcpConnection:
        return TcpConnection(self)

    def send(self, data: bytes, addr: Addr) -> None:
        conn = self.connections.get(addr)
        if conn is not None:
            conn.write(data)
            return
        pending = self._pending.get(addr)
        if pending is not None:
            pending.append(data)
            return
        self._pending[addr] = [data]
        asyncio.get_running_loop().create_task(self._connect(addr))

    async def _connect(self, addr: Addr) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(self.protocol, addr[0], addr[1])
        except OSError as exc:
            log.warning("sip: cannot connect over TCP to %s:%s: %s", addr[0], addr[1], exc)
            self._pending.pop(addr, None)
            return
        # The connection registers under its own peer address, which is ``addr`` for an outbound connect.
        for data in self._pending.pop(addr, []):
            conn.write(data)

    def close(self) -> None:
        for conn in list(self.connections.values()):
            if conn.transport is not None:
                conn.transport.close()
