"""Playout paces speech onto the leg in real time and reports what was heard; driven through a pipecat pipeline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from pipecat.frames.frames import InterruptionFrame

from engine.pipeline.frames import LegMarkFrame, PlayoutFrame, SpeechAudioFrame
from engine.pipeline.playout import Playout
from engine.telephony.leg import LegEvent
from tests.engine.pipelines import Collect, run_pipeline

ONE_SECOND = b"\x00\x10" * 8000  # 1 s of a constant, "voiced" level at 8 kHz


class FakeLeg:
    sample_rate = 8000
    supports_marks = True

    def __init__(self) -> None:
        self.sent: list[float] = []
        self.sizes: list[int] = []
        self.marks: list[str] = []
        self.cleared = 0

    async def events(self) -> AsyncIterator[LegEvent]:
        await asyncio.Event().wait()
        yield  # pragma: no cover

    async def send_audio(self, pcm: bytes) -> None:
        assert len(pcm) == 320
        self.sent.append(time.monotonic())
        self.sizes.append(len(pcm))

    async def send_mark(self, name: str) -> None:
        self.marks.append(name)

    async def clear(self) -> None:
        self.cleared += 1

    async def hangup(self) -> None:
        pass


class TwoFrameLeg(FakeLeg):
    """A leg that takes two frames per message, as a carrier WebSocket does."""

    frames_per_message = 2
    lead_frames = 5

    async def send_audio(self, pcm: bytes) -> None:
        assert len(pcm) in (320, 640)
        self.sent.append(time.monotonic())
        self.sizes.append(len(pcm))


async def run_playout(script, leg: FakeLeg | None = None) -> tuple[FakeLeg, Collect[PlayoutFrame]]:
    leg = leg or FakeLeg()
    reports = Collect(PlayoutFrame)
    await run_pipeline([reports, Playout(leg)], lambda worker: script(worker, leg, reports))
    return leg, reports


async def test_audio_leaves_in_real_time_not_in_a_burst_and_ends_with_a_mark():
    async def script(worker, leg, reports):
        await worker.queue_frame(SpeechAudioFrame(utterance_id=1, text="one two three four", pcm=ONE_SECOND))
        await worker.queue_frame(SpeechAudioFrame(utterance_id=1, last=True))
        await asyncio.sleep(0.3)
        # A burst would have sent all 50 frames by now; paced playout has sent ~3 (pre-buffer) + 15.
        assert len(leg.sent) < 30
        await asyncio.sleep(1.2)
        assert len(leg.sent) == 50
        assert leg.marks == ["u1"]
        await worker.queue_frame(LegMarkFrame(mark="u1"))
        await asyncio.sleep(0.1)

    leg, reports = await run_playout(script)
    span = leg.sent[-1] - leg.sent[0]
    assert span > 0.8  # 50 frames spread over about a second
    events = [(r.utterance_id, r.event) for r in reports.frames]
    assert events == [(1, "started"), (1, "finished")]
    assert reports.frames[-1].played_text == "one two three four"


async def test_barge_in_clears_the_carrier_and_reports_only_what_was_played():
    async def script(worker, leg, reports):
        await worker.queue_frame(SpeechAudioFrame(utterance_id=7, text="a b c d e f g h i j", pcm=ONE_SECOND * 2))
        await asyncio.sleep(0.6)
        await worker.queue_frame(InterruptionFrame())
        await asyncio.sleep(0.3)

    leg, reports = await run_playout(script)
    assert leg.cleared == 1
    assert len(leg.sent) < 60  # it stopped well before the 100 frames of the utterance
    interrupted = [r for r in reports.frames if r.event == "interrupted"]
    assert len(interrupted) == 1
    heard = interrupted[0].played_text.split()
    assert 0 < len(heard) < 10 and heard == ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"][: len(heard)]
    assert leg.marks == []


async def test_a_leg_taking_two_frames_per_message_gets_half_the_messages_on_the_same_schedule():
    """50 frames in two pieces of 25 leave as 25 messages of 40 ms (a pair may span the pieces), still over about a
    second, and the frame counts behind the mark and the played text are the frames', not the messages'."""

    async def script(worker, leg, reports):
        await worker.queue_frame(SpeechAudioFrame(utterance_id=1, text="one two", pcm=ONE_SECOND[:8000]))
        await worker.queue_frame(SpeechAudioFrame(utterance_id=1, text="three four", pcm=ONE_SECOND[8000:]))
        await worker.queue_frame(SpeechAudioFrame(utterance_id=1, last=True))
        await asyncio.sleep(0.3)
        assert sum(leg.sizes) // 320 < 30  # paced, not a burst
        await asyncio.sleep(1.2)
        await worker.queue_frame(LegMarkFrame(mark="u1"))
        await asyncio.sleep(0.1)

    leg, reports = await run_playout(script, TwoFrameLeg())
    assert sum(leg.sizes) == 50 * 320
    assert len(leg.sent) <= 26 and leg.sizes.count(640) >= 24, leg.sizes
    assert leg.sent[-1] - leg.sent[0] > 0.8
    assert leg.marks == ["u1"]
    assert reports.frames[-1].event == "finished" and reports.frames[-1].played_text == "one two three four"


async def _underruns_after_a_stall(leg: FakeLeg, stall_s: float) -> int:
    playout = Playout(leg)

    async def script(worker, leg, reports):
        await worker.queue_frame(SpeechAudioFrame(utterance_id=1, text="one two three four", pcm=ONE_SECOND))
        await worker.queue_frame(SpeechAudioFrame(utterance_id=1, last=True))
        await asyncio.sleep(0.4)
        time.sleep(stall_s)  # the event loop stops mid-utterance, as for a full garbage collection
        await asyncio.sleep(0.8)

    await run_pipeline([Collect(PlayoutFrame), playout], lambda worker: script(worker, leg, None))
    return playout.stats.underruns


async def test_a_stall_within_the_carriers_lead_is_not_an_underrun_and_beyond_an_rtp_peers_it_is():
    """85 ms: longer than the 60 ms an RTP peer is sent ahead, shorter than the 100 ms a queueing carrier is."""
    assert await _underruns_after_a_stall(TwoFrameLeg(), 0.085) == 0
    assert await _underruns_after_a_stall(FakeLeg(), 0.085) >= 1
