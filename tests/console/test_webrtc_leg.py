"""The WebRTC media leg without a browser: an aiortc peer plays the caller's side over real UDP on localhost.

The tests are plain functions running their coroutine on a loop of their own thread: the browser tests of this
directory keep Playwright's sync API (and its event loop) alive on the main thread for the whole session.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fractions
import time
from collections.abc import Coroutine
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from engine.telephony.leg import AudioIn, LegClosed, MarkPlayed, MediaLeg
from engine.telephony.webrtc_leg import OutboundAudioTrack, WebRtcLeg, to_mono_pcm16


def run_in_thread(coro: Coroutine[Any, Any, None]) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result(timeout=60)


class ToneTrack(MediaStreamTrack):
    """A caller's microphone: a 440 Hz tone as 48 kHz stereo s16, paced in real time like a browser's."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pts = 0
        self._t0: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self._t0 is None:
            self._t0 = time.monotonic()
        wait = self._t0 + self._pts / 48000 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (np.arange(960) + self._pts) / 48000
        tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2")
        frame = av.AudioFrame.from_ndarray(np.repeat(tone, 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = 48000
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, 48000)
        self._pts += 960
        return frame


async def _connect() -> tuple[RTCPeerConnection, WebRtcLeg, asyncio.Queue[av.AudioFrame]]:
    caller = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    caller.addTrack(ToneTrack())
    heard: asyncio.Queue[av.AudioFrame] = asyncio.Queue()
    pumps: set[asyncio.Future[None]] = set()

    @caller.on("track")
    def _on_track(track: MediaStreamTrack) -> None:
        async def pump() -> None:
            while True:
                try:
                    frame = await track.recv()
                except Exception:
                    return
                if isinstance(frame, av.AudioFrame):
                    heard.put_nowait(frame)

        pumps.add(asyncio.ensure_future(pump()))

    await caller.setLocalDescription(await caller.createOffer())
    leg, answer = await WebRtcLeg.accept(caller.localDescription.sdp, sample_rate=16000)
    await caller.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return caller, leg, heard


async def _test_leg_delivers_16k_frames_plays_agent_audio_and_reports_marks() -> None:
    caller, leg, heard = await _connect()
    try:
        assert isinstance(leg, MediaLeg)
        assert leg.sample_rate == 16000 and leg.supports_marks
        events = leg.events()
        frames: list[bytes] = []
        async with asyncio.timeout(15):
            while len(frames) < 25:
                event = await anext(events)
                if isinstance(event, AudioIn):
                    frames.append(event.pcm)
        assert {len(f) for f in frames} == {640}  # 20 ms of 16 kHz mono PCM16
        tail = np.frombuffer(b"".join(frames[-10:]), dtype="<i2").astype(np.float64)
        assert np.sqrt(np.mean(tail**2)) > 1000  # the tone arrived (Opus round trip), not silence
        # The tone's pitch survives resampling: zero crossings of 440 Hz over 0.2 s.
        crossings = np.count_nonzero(np.diff(np.signbit(tail)))
        assert 150 < crossings < 200

        # The agent's voice: 0.5 s of a loud tone, then a mark.
        t = np.arange(8000) / 16000
        speech = (np.sin(2 * np.pi * 300 * t) * 12000).astype("<i2").tobytes()
        for i in range(0, len(speech), 640):
            await leg.send_audio(speech[i : i + 640])
        sent_at = time.monotonic()
        await leg.send_mark("u1")
        async with asyncio.timeout(10):
            while True:
                event = await anext(events)
                if isinstance(event, MarkPlayed):
                    break
        # The mark comes back once the queued half second has been paced out, not at once.
        assert event.name == "u1" and time.monotonic() - sent_at >= 0.4
        loud = 0
        async with asyncio.timeout(10):
            while loud < 10:
                frame = await heard.get()
                pcm = np.frombuffer(to_mono_pcm16(frame), dtype="<i2").astype(np.float64)
                loud += int(np.sqrt(np.mean(pcm**2)) > 2000)
        assert loud >= 10  # the caller heard it

        # The browser's hang-up button: the far end hung up.
        leg.remote_hangup()
        async with asyncio.timeout(5):
            while not isinstance(event := await anext(events), LegClosed):
                pass
        assert event.by_remote is True
        await leg.hangup()
        assert leg.pc.connectionState == "closed"
    finally:
        await caller.close()
        await leg.hangup()


async def _test_outbound_track_paces_frames_and_clear_keeps_marks() -> None:
    played: asyncio.Queue = asyncio.Queue()
    track = OutboundAudioTrack(8000, played)
    for _ in range(5):
        track.push(b"\x10\x00" * 160)
    track.push_mark("u1")
    track.clear()
    track.push_mark("u2")
    start = time.monotonic()
    frames = [await track.recv() for _ in range(6)]
    elapsed = time.monotonic() - start
    assert 0.08 <= elapsed < 0.3  # 6 frames of 20 ms, paced (the first goes at once)
    assert all(f.samples == 160 and f.sample_rate == 8000 for f in frames)
    # Barge-in dropped the queued speech: only silence went out, and both marks still came back.
    assert all(not np.any(f.to_ndarray()) for f in frames)
    assert [played.get_nowait().name, played.get_nowait().name] == ["u1", "u2"]
    track.stop()


async def _test_an_offer_without_audio_is_refused() -> None:
    caller = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    caller.createDataChannel("chat")
    await caller.setLocalDescription(await caller.createOffer())
    try:
        try:
            await WebRtcLeg.accept(caller.localDescription.sdp)
        except ValueError as exc:
            assert "no audio" in str(exc)
        else:
            raise AssertionError("an offer without audio was accepted")
    finally:
        await caller.close()


def test_leg_delivers_16k_frames_plays_agent_audio_and_reports_marks() -> None:
    run_in_thread(_test_leg_delivers_16k_frames_plays_agent_audio_and_reports_marks())


def test_outbound_track_paces_frames_and_clear_keeps_marks() -> None:
    run_in_thread(_test_outbound_track_paces_frames_and_clear_keeps_marks())


def test_an_offer_without_audio_is_refused() -> None:
    run_in_thread(_test_an_offer_without_audio_is_refused())
