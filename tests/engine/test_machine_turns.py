"""What the call does about an answering machine, through the real pipeline stages (detector, turn manager, script
policy) without the speech models: the bot stops talking over a greeting, leaves the voicemail message after the
beep and ends as ``voicemail``; a carrier's verdict reaches the call through the engine's directory."""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np
import pytest
from pipecat.frames.frames import Frame, InputAudioRawFrame, InterruptionFrame
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from engine.agent.script import demo_script
from engine.agent.script_policy import ScriptPolicy
from engine.answered_by import AnsweredByInbox
from engine.audio.pcm import frames, silence
from engine.directory import CallDirectory
from engine.pipeline.frames import LeadTurnFrame, PlayoutFrame, SpeakFrame
from engine.pipeline.machine_detector import MachineDetectorStage
from engine.pipeline.turn_manager import TurnManager, TurnManagerConfig
from engine.records import CallRecord, CallRequest, Lead, Outcome
from engine.simulator.voices import beep
from tests.engine.pipelines import run_pipeline

pytestmark = pytest.mark.timeout(60)

RATE = 8000
LEAD = Lead(name="Ravi Kumar", phone="+919812345678")


class FakePlayout(FrameProcessor):
    """The far end's player: the bot's greeting keeps playing until interrupted, other lines play at once. It
    notes how many inbound audio frames had passed when each line was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self._greeting = demo_script().render(demo_script().greeting, LEAD)
        self.spoken: list[tuple[str, int]] = []
        self.interrupted: list[int] = []
        self.audio_frames = 0
        self._playing: set[int] = set()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            self.audio_frames += 1
        elif isinstance(frame, SpeakFrame):
            self.spoken.append((frame.text, self.audio_frames))
            await self._report(frame.utterance_id, "started")
            if frame.text != self._greeting:
                await self._report(frame.utterance_id, "finished", frame.text)
            else:
                self._playing.add(frame.utterance_id)
        elif isinstance(frame, InterruptionFrame):
            for utterance_id in sorted(self._playing):
                self.interrupted.append(utterance_id)
                await self._report(utterance_id, "interrupted", "Namaste")
            self._playing.clear()
        await self.push_frame(frame, direction)

    async def _report(self, utterance_id: int, event: str, text: str = "") -> None:
        now = asyncio.get_running_loop().time()
        report = PlayoutFrame(utterance_id=utterance_id, event=event, at=now, played_text=text)
        await self.push_frame(report, FrameDirection.UPSTREAM)


async def run_machine_call(
    audio: bytes, *, inbox: AnsweredByInbox | None = None, carrier: tuple[str, bool] | None = None
) -> tuple[CallRecord, FakePlayout]:
    script = demo_script()
    record = CallRecord(call_id="c-amd")
    done = asyncio.Event()
    manager = TurnManager(
        policy=ScriptPolicy(script),
        request=CallRequest(call_id="c-amd", lead=LEAD),
        record=record,
        config=TurnManagerConfig(lead_silence_timeout_s=60),
        on_done=done.set,
    )
    playout = FakePlayout()

    async def play(worker: PipelineWorker) -> None:
        await asyncio.sleep(0.1)  # the greeting starts
        if inbox is not None and carrier is not None:
            inbox.deliver(*carrier)
        for chunk in frames(audio, RATE):
            await worker.queue_frame(InputAudioRawFrame(audio=chunk, sample_rate=RATE, num_channels=1))
        # A transcribed piece of the greeting arriving late is not answered.
        await worker.queue_frame(LeadTurnFrame(text="Please leave a message.", started_at=0.0, last_voiced_at=0.0))
        with contextlib.suppress(TimeoutError):  # the assertions say what went wrong
            await asyncio.wait_for(done.wait(), 10)

    await run_pipeline([MachineDetectorStage(RATE, inbox), manager, playout], play)
    return record, playout


def voiced(seconds: float) -> bytes:
    """Speech-like audio for the detector: a 170 Hz buzz with syllable-rate loudness, no pause."""
    t = np.arange(int(RATE * seconds)) / RATE
    wave = np.sin(2 * np.pi * 170 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)) * 0.3
    return (wave * 32767).astype("<i2").tobytes()


async def test_a_machine_greeting_stops_the_bot_and_the_message_follows_the_beep():
    greeting = voiced(5.0)
    record, playout = await run_machine_call(greeting + beep(0.5) + silence(RATE, 0.5))
    voicemail = demo_script().render(demo_script().voicemail_message or "", LEAD)
    texts = [text for text, _ in playout.spoken]
    assert texts[1:] == [voicemail], texts  # the greeting line, then only the voicemail message
    assert playout.interrupted == [1]  # the bot's greeting stopped when the machine was recognised
    beep_end_frame = (len(greeting) + len(beep(0.5))) // 320
    assert playout.spoken[1][1] >= beep_end_frame  # asked for only after the beep had passed
    assert record.outcome == Outcome.VOICEMAIL and record.ended_by == "bot"
    assert record.interruptions == 0  # the machine did not barge in: the bot gave way
    assert any(note.startswith("answering machine (greeting)") for note in record.notes), record.notes
    assert any(note.startswith("greeting ended (beep)") for note in record.notes), record.notes


async def test_the_carriers_message_end_verdict_reaches_the_call_through_the_directory():
    directory = CallDirectory()

    async def scenario() -> tuple[CallRecord, FakePlayout]:
        directory.expect(CallRequest(call_id="c-amd", lead=LEAD))
        token = directory.callback_token("c-amd")
        inbox = directory.inbox("c-amd")
        assert inbox is not None
        directory.carrier_verdict("c-amd", token, "machine", True)  # before the stream started: kept
        return await run_machine_call(silence(RATE, 0.2), inbox=inbox)

    record, playout = await scenario()
    voicemail = demo_script().render(demo_script().voicemail_message or "", LEAD)
    assert [text for text, _ in playout.spoken][-1] == voicemail
    assert record.outcome == Outcome.VOICEMAIL
    assert any(note.startswith("greeting ended (carrier)") for note in record.notes), record.notes


async def test_a_carriers_human_verdict_keeps_the_conversation_going():
    inbox = AnsweredByInbox()
    record, playout = await _human_call(inbox)
    assert record.outcome != Outcome.VOICEMAIL
    assert "answered by a person (carrier)" in record.notes
    assert playout.interrupted == []


async def _human_call(inbox: AnsweredByInbox) -> tuple[CallRecord, FakePlayout]:
    record = CallRecord(call_id="c-human")
    manager = TurnManager(
        policy=ScriptPolicy(demo_script()),
        request=CallRequest(call_id="c-human", lead=LEAD),
        record=record,
        config=TurnManagerConfig(lead_silence_timeout_s=60),
        on_done=lambda: None,
    )
    playout = FakePlayout()

    async def play(worker: PipelineWorker) -> None:
        await asyncio.sleep(0.1)
        inbox.deliver("human", False)
        for chunk in frames(voiced(5.0) + beep(0.5) + silence(RATE, 2.0), RATE):
            await worker.queue_frame(InputAudioRawFrame(audio=chunk, sample_rate=RATE, num_channels=1))
        await asyncio.sleep(0.2)

    await run_pipeline([MachineDetectorStage(RATE, inbox), manager, playout], play)
    return record, playout
