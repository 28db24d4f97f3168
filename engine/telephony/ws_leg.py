"""A media leg over a carrier WebSocket: the thin I/O layer around a sans-I/O ``CarrierProtocol``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from loguru import logger

from engine.telephony.leg import AudioIn, DtmfIn, LegClosed, LegEvent, MarkPlayed
from engine.telephony.media_streams import Audio, CarrierProtocol, Dtmf, Mark, ProtocolError, Started, Stopped

# Outbound frames joined into one media message. Each message costs JSON, base64 and a socket write on the event
# loop (a third of its CPU at 24 calls); the carrier's buffer plays what arrives, so sending the second frame 20 ms
# early costs nothing and halves the messages. Kept at 40 ms (pipecat's default chunk) so a barge-in's `clear` has
# at most one more frame to drop.
FRAMES_PER_MESSAGE = 2
# The carriers queue the audio they are sent and play it in order, so sending ahead costs nothing (a barge-in's
# `clear` drops what is queued). 100 ms ahead covers the engine's longest pauses at its admission limit: full
# garbage collections of 11-46 ms plus the frames due meanwhile, which the 60 ms of a phone's RTP lead did not
# (benchmarks/README.md, soak).
LEAD_FRAMES = 5

ReceiveText = Callable[[], Awaitable[str | bytes | None]]  # None: the socket closed
SendText = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]


class WebSocketLeg:
    """One call on one WebSocket. ``receive``/``send``/``close`` adapt whatever WebSocket library serves it."""

    def __init__(self, protocol: CarrierProtocol, receive: ReceiveText, send: SendText, close: Close) -> None:
        self.protocol = protocol
        self._receive = receive
        self._send = send
        self._close = close
        self._closed = False
        self.close_reason: str | None = None
        # The carrier's own id of the call, from its ``start`` (Twilio CallSid, Plivo CallUUID, Exotel CallSid):
        # what a carrier's call-update or transfer request names.
        self.carrier_call_id: str | None = None

    @property
    def sample_rate(self) -> int:
        return self.protocol.sample_rate

    @property
    def supports_marks(self) -> bool:
        return True

    @property
    def hold_frames(self) -> int:
        """Frames the carrier's outbound framing holds back before a message leaves (1: each frame leaves)."""
        return self.protocol.hold_frames

    @property
    def frames_per_message(self) -> int:
        # A chunking carrier's framer already joins frames into its chunks.
        return 1 if self.protocol.hold_frames > 1 else FRAMES_PER_MESSAGE

    @property
    def lead_frames(self) -> int:
        return LEAD_FRAMES

    async def wait_started(self) -> Started:
        """Read until the carrier's ``start``; raises ProtocolError on anything else but ``connected``."""
        while True:
            text = await self._receive()
            if text is None:
                raise ProtocolError("closed before 'start'")
            for event in self.protocol.receive(text):
                if isinstance(event, Started):
                    self.carrier_call_id = event.call_id or None
                    return event
                raise ProtocolError(f"{type(event).__name__.lower()} before 'start'")

    async def events(self) -> AsyncIterator[LegEvent]:
        while not self._closed:
            try:
                text = await self._receive()
            except Exception as exc:
                yield LegClosed(f"socket error: {type(exc).__name__}")
                return
            if text is None:
                yield LegClosed("socket closed")
                return
            try:
                events = self.protocol.receive(text)
            except ProtocolError as exc:
                # A malformed or out-of-order message ends this call, never the process or another call.
                logger.warning("{} stream {}: protocol error: {}", self.protocol.name, self.protocol.stream_id, exc)
                self.close_reason = f"protocol error: {exc}"
                await self._shutdown(1008, "protocol error")
                yield LegClosed(self.close_reason, by_remote=False)
                return
            for event in events:
                if isinstance(event, Audio):
                    yield AudioIn(event.pcm)
                elif isinstance(event, Dtmf):
                    yield DtmfIn(event.digit)
                elif isinstance(event, Mark):
                    yield MarkPlayed(event.name)
                elif isinstance(event, Stopped):
                    self._closed = True
                    yield LegClosed("stop")
                    return

    async def send_audio(self, pcm: bytes) -> None:
        if not self._closed:
            for text in self.protocol.frame_audio(pcm):
                await self._send(text)

    async def flush(self) -> None:
        """Send the audio the framing holds, padded to a whole chunk (speech ran dry before the chunk filled)."""
        if not self._closed:
            for text in self.protocol.flush():
                await self._send(text)

    async def send_mark(self, name: str) -> None:
        if not self._closed:
            for text in self.protocol.frame_mark(name):
                await self._send(text)

    async def clear(self) -> None:
        if not self._closed:
            for text in self.protocol.frame_clear():
                await self._send(text)

    async def hangup(self) -> None:
        await self._shutdown(1000, "call ended")

    async def refuse(self, reason: str) -> None:
        """Close a stream that will not be served (1008: policy violation) before anything is sent on it."""
        await self._shutdown(1008, f"refused: {reason}")

    async def _shutdown(self, code: int, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._close(code, reason)
        except Exception as exc:
            logger.debug("close failed: {}", type(exc).__name__)
