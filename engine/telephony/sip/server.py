"""``SipServer``: a SIP user agent on one address (UDP and TCP), answering and placing calls with RTP legs.

All protocol decisions are made by the sans-I/O ``SipEndpoint``; this module feeds it bytes and the loop's
clock, sends what it returns, runs its timers, and turns its call events into ``RtpMediaLeg``s handed to
``on_call`` (inbound) or ``on_answer`` (outbound). A failure inside one call's handler ends that call only.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import metrics
from engine.records import TransferResult
from engine.telephony.sip.endpoint import SipEndpoint
from engine.telephony.sip.events import (
    CallAnswered,
    CallConfirmed,
    CallEnded,
    CallFailed,
    CallProgress,
    Credentials,
    DtmfInfo,
    IncomingCall,
    InviteRefused,
    MediaUpdated,
    MessageDropped,
    ReferAnswered,
    ReferProgress,
    SipEvent,
)
from engine.telephony.sip.inbound_policy import InboundPolicy
from engine.telephony.sip.leg import RtpMediaLeg
from engine.telephony.sip.transport import Addr, TcpConnections, UdpProtocol
from engine.telephony.sip.trunk import SipCallResult, SipTrunkConfig, disposition_for

log = logging.getLogger(__name__)
# Beyond the salesperson's ringing: the REFER's own transaction (Timer F, 32 s at most) and the peer's dialing.
REFER_MARGIN_S = 32.0


@dataclass(frozen=True)
class SipCallInfo:
    call_id: str
    direction: str  # "inbound" | "outbound"
    remote_user: str  # the caller (inbound) or the called number (outbound): never log it
    dialed: str  # inbound: the number the caller dialed, to find the campaign
    transport: str
    remote_addr: Addr


OnCall = Callable[[SipCallInfo, RtpMediaLeg], Awaitable[Any]]


async def _reject_inbound(info: SipCallInfo, leg: RtpMediaLeg) -> None:
    await leg.hangup()


# Tries at a port free for both UDP and TCP when the OS picks it.
PORT_PICK_ATTEMPTS = 20


class SipServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5080,
        on_call: OnCall | None = None,
        *,
        advertise_host: str | None = None,
        rtp_host: str | None = None,
        rtp_port_range: tuple[int, int] | None = None,
        user_agent: str = "closerr",
        admit: Callable[[], bool] | None = None,
        inbound: InboundPolicy | None = None,
    ) -> None:
        self.host = host
        # Who may call in (others get 403) and where an inbound call's RTP goes; default: anyone, the SDP's port
        # at the signalling host. The engine always passes its configured policy.
        self.inbound = inbound or InboundPolicy()
        # Asked for each INVITE: False refuses it with 503 (overloaded, RFC 3261 21.5.4), as a WebSocket stream
        # beyond the admission limit is refused with 1013.
        self.admit = admit
        self.port = port
        self.on_call: OnCall = on_call or _reject_inbound
        self.advertise_host = advertise_host or host
        self.rtp_host = rtp_host or host
        if rtp_port_range is not None and not 0 < rtp_port_range[0] < rtp_port_range[1] < 65536:
            raise ValueError("rtp_port_range: expected 0 < low < high < 65536")
        self.rtp_port_range = rtp_port_range
        self.user_agent = user_agent
        self.endpoint: SipEndpoint | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp_server: asyncio.Server | None = None
        self._tcp = TcpConnections(self._on_stream, self._on_lost)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._legs: dict[str, RtpMediaLeg] = {}
        self._outbound: dict[str, asyncio.Queue[SipEvent]] = {}
        self._refers: dict[str, asyncio.Queue[SipEvent]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.dropped = 0
        self.refused = 0
        self.calls_handled = 0

    # -- lifecycle ----------------------------------------------------------------------------------------------
    async def start(self) -> SipServer:
        loop = asyncio.get_running_loop()
        # Port 0: UDP picks a free port, and TCP must have the same one, which another socket may hold (any
        # outgoing TCP connection's ephemeral port): pick again rather than fail.
        for attempt in range(1 if self.port else PORT_PICK_ATTEMPTS):
            udp, _ = await loop.create_datagram_endpoint(
                lambda: UdpProtocol(self._on_datagram), local_addr=(self.host, self.port)
            )
            port = int(udp.get_extra_info("sockname")[1])
            try:
                self._tcp_server = await loop.create_server(self._tcp.protocol, self.host, port)
            except OSError as exc:
                udp.close()
                if exc.errno != errno.EADDRINUSE or attempt == PORT_PICK_ATTEMPTS - 1 or self.port:
                    raise
                continue
            self._udp, self.port = udp, port
            break
        self.endpoint = SipEndpoint(self.advertise_host, self.port, user_agent=self.user_agent, inbound=self.inbound)
        log.info("sip: listening on %s:%s (udp, tcp)", self.host, self.port)
        return self

    async def stop(self) -> None:
        for leg in list(self._legs.values()):
            await leg.hangup()
        self._flush()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._timer is not None:
            self._timer.cancel()
        if self._tcp_server is not None:
            self._tcp_server.close()
            self._tcp.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp_server.wait_closed(), 1.0)
        if self._udp is not None:
            self._udp.close()

    async def __aenter__(self) -> SipServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def active_calls(self) -> int:
        return len(self._legs)

    # -- bytes in ------------------------------------------------------------------------------------------------
    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _on_datagram(self, data: bytes, addr: Addr) -> None:
        assert self.endpoint is not None
        self.endpoint.receive_datagram(data, addr, self._now())
        self._flush()

    def _on_stream(self, data: bytes, addr: Addr) -> None:
        assert self.endpoint is not None
        self.endpoint.receive_stream(data, addr, self._now())
        self._flush()

    def _on_lost(self, addr: Addr) -> None:
        if self.endpoint is not None:
            self.endpoint.connection_lost(addr)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        if self.endpoint is not None:
            self.endpoint.on_timer(self._now())
            self._flush()

    # -- bytes and events out ----------------------------------------------------------------------------------
    def _flush(self) -> None:
        endpoint = self.endpoint
        if endpoint is None:
            return
        while True:
            outgoing, events = endpoint.poll()
            if not outgoing and not events:
                break
            for item in outgoing:
                if item.transport == "tcp":
                    self._tcp.send(item.data, item.addr)
                elif self._udp is not None:
                    self._udp.sendto(item.data, item.addr)
            for event in events:
                try:
                    self._on_event(event)
                except Exception:
                    log.exception("sip: failed to handle %s", type(event).__name__)
        self._arm_timer()

    def _arm_timer(self) -> None:
        assert self.endpoint is not None
        deadline = self.endpoint.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            self._timer = asyncio.get_running_loop().call_at(deadline, self._on_timer)

    def _on_event(self, event: SipEvent) -> None:
        if isinstance(event, MessageDropped):
            self.dropped += 1
            log.warning("sip: dropped a message from %s: %s", event.addr[0], event.reason)
            return
        if isinstance(event, InviteRefused):
            self.refused += 1
            metrics.record_sip_refused(event.reason)
            log.warning("sip: INVITE from %s refused (%s)", event.addr[0], event.reason)
            return
        if isinstance(event, IncomingCall):
            self._spawn(self._inbound(event))
            return
        call_id = event.call_id
        queue = self._outbound.get(call_id)
        if queue is not None and not isinstance(event, ReferAnswered | ReferProgress):
            queue.put_nowait(event)
        refer = self._refers.get(call_id)
        if refer is not None and isinstance(event, ReferAnswered | ReferProgress | CallEnded):
            refer.put_nowait(event)
        leg = self._legs.get(call_id)
        if leg is None:
            return
        if isinstance(event, CallEnded):
            # The far end hung up, or signalling ended the call on its own (no ACK for our 200): either way
            # the pipeline must hear of it. A hangup of ours already removed the leg.
            leg.signalling_closed(event.reason, by_remote=event.by_remote)
            self._legs.pop(call_id, None)
        elif isinstance(event, MediaUpdated | CallConfirmed) and event.negotiated is not None:
            leg.configure(event.negotiated)
        elif isinstance(event, DtmfInfo):
            leg.inject_dtmf(event.digit)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _refer_handler(self, call_id: str) -> Callable[[str, float], Awaitable[TransferResult]]:
        async def handler(target_uri: str, answer_timeout_s: float) -> TransferResult:
            return await self.refer(call_id, target_uri, answer_timeout_s)

        return handler

    async def refer(self, call_id: str, target_uri: str, answer_timeout_s: float) -> TransferResult:
        """Transfer an answered call to ``target_uri`` (RFC 3515): REFER, then wait for the NOTIFY whose sipfrag
        carries a final status. Connected only on a 2xx sipfrag; the caller then ends our leg with BYE."""
        endpoint = self.endpoint
        if endpoint is None:
            return TransferResult(False, "SIP endpoint not started")
        queue: asyncio.Queue[SipEvent] = asyncio.Queue()
        self._refers[call_id] = queue
        loop = asyncio.get_running_loop()
        give_up = loop.time() + answer_timeout_s + REFER_MARGIN_S
        try:
            if not endpoint.refer(call_id, target_uri, self._now()):
                return TransferResult(False, "the call has no confirmed SIP dialog")
            self._flush()
            accepted = False
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), max(0.0, give_up - loop.time()))
                except TimeoutError:
                    detail = "REFER accepted, no final NOTIFY in time" if accepted else "REFER not answered in time"
                    return TransferResult(False, detail)
                if isinstance(event, ReferAnswered):
                    if event.status >= 300:
                        return TransferResult(False, f"REFER refused: {event.status}")
                    accepted = True
                elif isinstance(event, ReferProgress):
                    if 200 <= event.status < 300:
                        return TransferResult(True, f"REFER accepted, NOTIFY sipfrag {event.status}")
                    if event.status >= 300:
                        return TransferResult(False, f"transfer target answered {event.status}")
                    if event.terminated:
                        return TransferResult(False, f"subscription ended at {event.status}")
                elif isinstance(event, CallEnded):
                    return TransferResult(False, "the call ended before the transfer completed")
        finally:
            self._refers.pop(call_id, None)

    def _hangup_handler(self, call_id: str) -> Callable[[], None]:
        def handler() -> None:
            self._legs.pop(call_id, None)
            if self.endpoint is not None:
                self.endpoint.hangup(call_id, self._now())
                self._flush()

        return handler

    # -- inbound ------------------------------------------------------------------------------------------------
    async def _inbound(self, event: IncomingCall) -> None:
        endpoint = self.endpoint
        assert endpoint is not None
        if self.admit is not None and not self.admit():
            log.warning("sip: inbound call refused: at the admission limit")
            endpoint.reject(event.call_id, 503, self._now())
            self._flush()
            return
        try:
            leg = await RtpMediaLeg.open(self.rtp_host, port_range=self.rtp_port_range)
        except OSError:
            log.exception("sip: no RTP port for an inbound call")
            endpoint.reject(event.call_id, 503, self._now())
            self._flush()
            return
        if endpoint.call_state(event.call_id) is None or str(endpoint.call_state(event.call_id)) != "incoming":
            await leg.hangup()  # cancelled while we were opening the socket
            return
        if event.negotiated is not None:
            leg.configure(event.negotiated)
        source = self.inbound.media_source(event.addr)
        if source is not None:
            leg.accept_media_only_from(source)
        leg.set_hangup_handler(self._hangup_handler(event.call_id))
        leg.set_refer_handler(self._refer_handler(event.call_id))
        self._legs[event.call_id] = leg
        now = self._now()
        endpoint.ring(event.call_id, now)
        endpoint.answer(
            event.call_id, self.advertise_host if self.rtp_host in ("0.0.0.0", "::") else leg.host, leg.port, now
        )
        self._flush()
        leg.connect_pipeline()
        self.calls_handled += 1
        info = SipCallInfo(event.call_id, "inbound", event.from_user, event.to_user, event.transport, event.addr)
        try:
            await self.on_call(info, leg)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sip: the call handler failed")
        finally:
            await leg.hangup()

    # -- outbound -----------------------------------------------------------------------------------------------
    async def place_call(
        self, trunk: SipTrunkConfig, to_number: str, on_answer: OnCall, *, ring_timeout_s: float | None = None
    ) -> SipCallResult:
        """Call ``to_number`` through ``trunk``; runs ``on_answer(info, leg)`` if answered, then hangs up."""
        endpoint = self.endpoint
        if endpoint is None:
            raise RuntimeError("SipServer.start() first")
        if not to_number or any(ch.isspace() or ch in '<>@;"' for ch in to_number):
            raise ValueError("to_number: not a dialable number")
        leg = await RtpMediaLeg.open(self.rtp_host, port_range=self.rtp_port_range)
        credentials = Credentials(trunk.username, trunk.password or "") if trunk.username else None
        queue: asyncio.Queue[SipEvent] = asyncio.Queue()
        call_id = endpoint.invite(
            target_uri=trunk.request_uri(to_number),
            from_uri=trunk.from_uri(),
            addr=(trunk.host, trunk.port),
            rtp_host=self.advertise_host if self.rtp_host in ("0.0.0.0", "::") else leg.host,
            rtp_port=leg.port,
            now=self._now(),
            transport=trunk.transport,
            credentials=credentials,
        )
        self._outbound[call_id] = queue
        self._flush()
        leg.set_hangup_handler(self._hangup_handler(call_id))
        leg.set_refer_handler(self._refer_handler(call_id))
        early = False
        timeout = ring_timeout_s if ring_timeout_s is not None else trunk.ring_timeout_s
        loop = asyncio.get_running_loop()
        give_up = loop.time() + timeout
        try:
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), max(0.0, give_up - loop.time()))
                except TimeoutError:
                    endpoint.hangup(call_id, self._now(), reason="ring timeout")
                    self._flush()
                    await leg.hangup()
                    return SipCallResult("no_answer", None, "ring timeout", call_id, early)
                if isinstance(event, CallProgress):
                    if event.negotiated is not None:
                        early = True
                        leg.configure(event.negotiated)
                        leg.start_media()
                elif isinstance(event, CallFailed):
                    await leg.hangup()
                    return SipCallResult(disposition_for(event.status), event.status, event.reason, call_id, early)
                elif isinstance(event, CallEnded):
                    await leg.hangup()
                    return SipCallResult("failed", None, event.reason, call_id, early)
                elif isinstance(event, CallAnswered):
                    if event.negotiated is not None:
                        leg.configure(event.negotiated)
                    break
            self._legs[call_id] = leg
            leg.connect_pipeline()
            self.calls_handled += 1
            info = SipCallInfo(call_id, "outbound", to_number, to_number, trunk.transport, (trunk.host, trunk.port))
            try:
                value = await on_answer(info, leg)
            finally:
                await leg.hangup()
            return SipCallResult("answered", 200, "OK", call_id, early, value)
        finally:
            self._outbound.pop(call_id, None)


async def place_call(
    trunk: SipTrunkConfig, to_number: str, on_answer: OnCall, *, ring_timeout_s: float | None = None
) -> SipCallResult:
    """Place one outbound call from a short-lived user agent on an ephemeral port of ``trunk.local_host``."""
    server = SipServer(trunk.local_host, 0)
    await server.start()
    try:
        return await server.place_call(trunk, to_number, on_answer, ring_timeout_s=ring_timeout_s)
    finally:
        # Let the BYE's transaction see its 200 before the socket goes.
        await _drain(server)
        await server.stop()


async def _drain(server: SipServer, max_s: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + max_s
    endpoint = server.endpoint
    while endpoint is not None and loop.time() < end:
        if not endpoint.requests_in_flight():
            return
        await asyncio.sleep(0.02)
