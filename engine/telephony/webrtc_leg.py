"""A media leg over a WebRTC peer connection (aiortc): the browser test call.

Inbound: the browser's microphone arrives as 48 kHz Opus, which aiortc decodes to (usually stereo) s16 frames; they
are down-mixed, resampled with the engine's low-delay ``StreamResampler`` and cut into the 20 ms PCM frames every
leg delivers. Outbound: ``send_audio`` frames go into a queue that an audio track drains in real time (aiortc does
not pace audio itself: a track's ``recv`` decides when the next frame exists). Marks ride in the same queue, so a
``MarkPlayed`` comes back only once everything sent before it has left for the browser.

Signalling is one request: the browser POSTs its offer (ICE candidates gathered, no trickle) and receives the
answer; ``WebRtcLeg.accept`` does that half. The call then runs through ``run_call`` like any other.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from loguru import logger

from engine.audio.resample import StreamResampler
from engine.telephony.leg import FRAME_MS, AudioIn, LegEvent, MarkPlayed, frame_bytes
from engine.telephony.queued_leg import QueuedLeg

# Long enough for a browser on a slow machine; short enough that an abandoned offer frees its sockets.
CONNECT_TIMEOUT_S = 20.0


class _Mark(str):
    """A mark queued between audio frames (a ``str`` subclass so the queue needs no wrapper objects)."""


class OutboundAudioTrack(MediaStreamTrack):
    """The agent's voice: one 20 ms frame per ``recv`` at real-time pace, silence when nothing is queued."""

    kind = "audio"

    def __init__(self, sample_rate: int, on_mark: asyncio.Queue[LegEvent]) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self._samples = sample_rate * FRAME_MS // 1000
        self._silence = bytes(self._samples * 2)
        self._queue: deque[bytes | _Mark] = deque()
        self._played = on_mark  # not ``_events``: that name is the event emitter's own, on every track
        self._started_at: float | None = None
        self._pts = 0

    def push(self, pcm: bytes) -> None:
        self._queue.append(pcm)

    def push_mark(self, name: str) -> None:
        self._queue.append(_Mark(name))

    def clear(self) -> None:
        # Barge-in: drop unplayed speech but keep marks, so the pipeline still learns the utterance ended.
        marks = [item for item in self._queue if isinstance(item, _Mark)]
        self._queue.clear()
        self._queue.extend(marks)

    def _next_pcm(self) -> bytes:
        while self._queue:
            item = self._queue.popleft()
            if isinstance(item, _Mark):
                self._played.put_nowait(MarkPlayed(str(item)))
                continue
            return item
        return self._silence

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._started_at is None:
            self._started_at = now
        else:
            wait = self._started_at + self._pts / self.sample_rate - now
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -0.2:
                # Far behind (the loop stalled): restart the clock rather than burst to catch up.
                self._started_at = now - self._pts / self.sample_rate
        pcm = self._next_pcm()
        if len(pcm) < len(self._silence):
            pcm = pcm + self._silence[len(pcm) :]
        # Marks right after the last frame of an utterance fire now: that frame has just been handed over.
        while self._queue and isinstance(self._queue[0], _Mark):
            self._played.put_nowait(MarkPlayed(str(self._queue.popleft())))
        frame = av.AudioFrame(format="s16", layout="mono", samples=self._samples)
        frame.planes[0].update(pcm[: len(self._silence)])
        frame.sample_rate = self.sample_rate
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, self.sample_rate)
        self._pts += self._samples
        return frame


def to_mono_pcm16(frame: av.AudioFrame) -> bytes:
    """One decoded frame as mono 16-bit PCM at the frame's own rate (down-mixing stereo by averaging)."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        mono = data.astype(np.int32).mean(axis=0) if channels > 1 else data[0]
    else:
        mono = data.reshape(-1, channels).astype(np.int32).mean(axis=1) if channels > 1 else data.reshape(-1)
    if frame.format.name.startswith("s16"):
        return np.asarray(mono, dtype="<i2").tobytes()
    # Float formats (flt/fltp): scale to int16.
    return np.clip(np.asarray(mono, dtype=np.float32) * 32767.0, -32768, 32767).astype("<i2").tobytes()


class WebRtcLeg(QueuedLeg):
    """One browser call on one RTCPeerConnection. Build it with ``await WebRtcLeg.accept(offer_sdp)``."""

    def __init__(self, pc: RTCPeerConnection, sample_rate: int = 16000) -> None:
        super().__init__()
        self.pc = pc
        self._rate = sample_rate
        self.outbound = OutboundAudioTrack(sample_rate, self._events)
        self._reader: asyncio.Future[None] | None = None
        self._watcher: asyncio.Future[None] | None = None
        self._frame = frame_bytes(sample_rate)
        self.frames_in = 0

        @pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio" and self._reader is None:
                self._reader = asyncio.ensure_future(self._read(track))

        @pc.on("connectionstatechange")
        async def _on_state() -> None:
            if pc.connectionState in ("failed", "closed") and not self._closed:
                self._close(f"peer connection {pc.connectionState}", by_remote=True)

    @classmethod
    async def accept(cls, offer_sdp: str, *, sample_rate: int = 16000) -> tuple[WebRtcLeg, str]:
        """Answer a browser's offer; returns the leg and the answer SDP (ICE candidates included)."""
        if sample_rate not in (8000, 16000):
            raise ValueError("the pipeline runs at 8 kHz or 16 kHz")
        # No STUN/TURN: aiortc's default asks a public STUN server, which this product must not depend on; host
        # candidates reach a browser on the same network (the console's test call).
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        leg = cls(pc, sample_rate)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            if not any(t.kind == "audio" for t in pc.getTransceivers()):
                raise ValueError("the offer carries no audio")
            pc.addTrack(leg.outbound)
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception:
            await pc.close()
            raise
        leg._watcher = asyncio.ensure_future(leg._watch_connect())
        return leg, pc.localDescription.sdp

    async def _watch_connect(self) -> None:
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while self.pc.connectionState != "connected" and not self._closed:
            if time.monotonic() > deadline:
                logger.info("webrtc leg: no connection within {}s", CONNECT_TIMEOUT_S)
                self._close("never connected", by_remote=True)
                await self.pc.close()
                return
            await asyncio.sleep(0.1)

    async def _read(self, track: MediaStreamTrack) -> None:
        resampler: StreamResampler | None = None
        pending = bytearray()
        try:
            while not self._closed:
                frame = await track.recv()
                assert isinstance(frame, av.AudioFrame)
                if resampler is None:
                    resampler = StreamResampler(frame.sample_rate, self._rate)
                pending += resampler.process(to_mono_pcm16(frame))
                while len(pending) >= self._frame:
                    self.frames_in += 1
                    self._events.put_nowait(AudioIn(bytes(pending[: self._frame])))
                    del pending[: self._frame]
        except MediaStreamError:
            self._close("browser stopped sending", by_remote=True)
        except Exception as exc:
            logger.info("webrtc leg: inbound audio failed: {}", type(exc).__name__)
            self._close(f"inbound audio failed: {type(exc).__name__}", by_remote=False)

    # -- MediaLeg ----------------------------------------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return self._rate

    async def clear(self) -> None:
        self.outbound.clear()

    def remote_hangup(self) -> None:
        """The browser's user ended the call (the hang-up button): for the pipeline, the far end hung up."""
        self._close("the caller hung up", by_remote=True)

    async def hangup(self) -> None:
        self._close("hung up", by_remote=False)
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
        self.outbound.stop()
        await self.pc.close()

    def _queue_audio(self, pcm: bytes) -> None:
        self.outbound.push(pcm)

    def _queue_mark(self, name: str) -> None:
        self.outbound.push_mark(name)

    def _release(self) -> None:
        """Nothing before ``hangup``, which the pipeline calls to end every call and which closes the connection."""
