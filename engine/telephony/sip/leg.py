"""``RtpMediaLeg``: the MediaLeg of a SIP call, a thin asyncio shell around ``media.RtpSession``.

Every leg in a process is driven by one shared 20 ms ``MediaClock``: each tick sends exactly one RTP packet per
leg (queued speech or silence) and hands the pipeline one inbound frame from the jitter buffer. Pacing against
one absolute schedule, instead of a timer per leg, keeps the outbound stream's inter-packet jitter near the event
loop's timer resolution even with many calls (see benchmarks/rtp_media.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import weakref
from collections.abc import Awaitable, Callable

from engine.records import TransferResult
from engine.telephony.leg import AudioIn, DtmfIn, MarkPlayed
from engine.telephony.queued_leg import QueuedLeg
from engine.telephony.sip.media import SAMPLE_RATE, Addr, RtpSession
from engine.telephony.sip.sdp import Negotiated

log = logging.getLogger(__name__)
PERIOD_S = 0.020
_MAX_CATCH_UP_TICKS = 3  # after a stall, send at most this many late packets back to back, then resync


class MediaClock:
    """One 20 ms ticker per event loop, shared by every RTP leg on it."""

    def __init__(self) -> None:
        self._legs: set[RtpMediaLeg] = set()
        self._task: asyncio.Task[None] | None = None
        self.late_ticks = 0

    def add(self, leg: RtpMediaLeg) -> None:
        self._legs.add(leg)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="rtp-media-clock")

    def remove(self, leg: RtpMediaLeg) -> None:
        self._legs.discard(leg)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while self._legs:
            next_at += PERIOD_S
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif -delay > _MAX_CATCH_UP_TICKS * PERIOD_S:
                self.late_ticks += 1
                next_at = loop.time()
            now = loop.time()
            for leg in list(self._legs):
                try:
                    leg._on_tick(now)
                except Exception:  # one broken leg must not silence the others
                    log.exception("rtp leg tick failed")
                    self._legs.discard(leg)


_clocks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MediaClock] = weakref.WeakKeyDictionary()


def media_clock() -> MediaClock:
    loop = asyncio.get_running_loop()
    clock = _clocks.get(loop)
    if clock is None:
        clock = _clocks[loop] = MediaClock()
    return clock


class _RtpProtocol(asyncio.DatagramProtocol):
    def __init__(self, leg: RtpMediaLeg) -> None:
        self._leg = leg

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:  # type: ignore[override]
        self._leg._on_datagram(data, (str(addr[0]), int(addr[1])))  # type: ignore[call-overload, arg-type]

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a peer that went away: the SIP side decides when the call ends.
        log.debug("rtp socket error: %s", exc)


class RtpMediaLeg(QueuedLeg):
    """MediaLeg over RTP. Create with ``await RtpMediaLeg.open(host)``; ``port`` goes into the SDP."""

    def __init__(self) -> None:
        super().__init__()
        self.session = RtpSession()
        self._transport: asyncio.DatagramTransport | None = None
        self._on_hangup: Callable[[], None] | None = None
        self._on_refer: Callable[[str, float], Awaitable[TransferResult]] | None = None
        self.host = ""
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clock: MediaClock | None = None

    @classmethod
    async def open(cls, host: str, port: int = 0, port_range: tuple[int, int] | None = None) -> RtpMediaLeg:
        """Bind the RTP socket: on ``port``, or an even port in ``port_range`` (firewalls open a fixed range),
        or any free port."""
        leg = cls()
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        candidates = [port]
        if port_range is not None and port == 0:
            low, high = port_range
            candidates = [p for p in range(low + low % 2, high + 1, 2)]
            random.shuffle(candidates)
        transport: asyncio.DatagramTransport | None = None
        for i, candidate in enumerate(candidates):
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: _RtpProtocol(leg), local_addr=(host, candidate), family=family
                )
                break
            except OSError:
                if i == len(candidates) - 1:
                    raise
        assert transport is not None
        leg._transport = transport
        leg._loop = loop
        leg.host, leg.port = transport.get_extra_info("sockname")[:2]
        return leg

    # -- wiring from the SIP side --------------------------------------------------------------------------------
    def set_hangup_handler(self, handler: Callable[[], None]) -> None:
        self._on_hangup = handler

    def set_refer_handler(self, handler: Callable[[str, float], Awaitable[TransferResult]]) -> None:
        self._on_refer = handler

    async def refer(self, target_uri: str, answer_timeout_s: float) -> TransferResult:
        """Ask the peer to transfer this call to ``target_uri`` (SIP REFER); our leg stays up until ``hangup``."""
        if self._on_refer is None or self._closed:
            return TransferResult(False, "the call has no SIP dialog to transfer")
        return await self._on_refer(target_uri, answer_timeout_s)

    def configure(self, negotiated: Negotiated) -> None:
        self.session.configure(negotiated)

    def accept_media_only_from(self, host: str) -> None:
        self.session.source_host = host

    def start_media(self) -> None:
        """Begin the 20 ms clock (early media: packets out, nothing to the pipeline yet)."""
        if self._closed or self._clock is not None:
            return
        self._clock = media_clock()
        self._clock.add(self)

    def connect_pipeline(self) -> None:
        """The call is answered: inbound audio now reaches the pipeline."""
        self.session.started = True
        self.start_media()

    def inject_dtmf(self, digit: str) -> None:
        if not self._closed:
            self._events.put_nowait(DtmfIn(digit))

    def remote_closed(self, reason: str) -> None:
        self._close(reason, by_remote=True)

    def signalling_closed(self, reason: str, by_remote: bool) -> None:
        self._close(reason, by_remote=by_remote)

    # -- MediaLeg ----------------------------------------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    async def clear(self) -> None:
        for name in self.session.clear():
            self._events.put_nowait(MarkPlayed(name))

    async def hangup(self) -> None:
        if self._closed:
            return
        self._close("hangup", by_remote=False)
        if self._on_hangup is not None:
            self._on_hangup()

    # -- internals -----------------------------------------------------------------------------------------------
    @property
    def queued_frames(self) -> int:
        return self.session.queued_frames

    def _queue_audio(self, pcm: bytes) -> None:
        self.session.enqueue(pcm)

    def _queue_mark(self, name: str) -> None:
        self.session.mark(name)

    def _release(self) -> None:
        if self._clock is not None:
            self._clock.remove(self)
        if self._transport is not None:
            self._transport.close()

    def _on_datagram(self, data: bytes, addr: Addr) -> None:
        if self._closed or self._loop is None:
            return
        digit = self.session.receive(data, addr, self._loop.time())
        if digit is not None and self.session.started:
            self._events.put_nowait(DtmfIn(digit))

    def _on_tick(self, now: float) -> None:
        if self._closed:
            return
        tick = self.session.tick(now)
        if tick.packet is not None and tick.addr is not None and self._transport is not None:
            with contextlib.suppress(OSError):
                self._transport.sendto(tick.packet, tick.addr)
        for name in tick.marks:
            self._events.put_nowait(MarkPlayed(name))
        if tick.pcm is not None:
            self._events.put_nowait(AudioIn(tick.pcm))
