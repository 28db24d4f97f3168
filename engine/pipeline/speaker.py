"""Synthesizes each ``SpeakFrame`` into ``SpeechAudioFrame`` pieces, first clause first (see engine.speech.tts)."""

from __future__ import annotations

from pipecat.frames.frames import Frame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from engine.pipeline.frames import SpeakFrame, SpeechAudioFrame
from engine.speech.tts import SpeechSynthesizer


class Speaker(FrameProcessor):
    def __init__(self, tts: SpeechSynthesizer, **kwargs: object) -> None:
        super().__init__(name="Speaker", **kwargs)  # type: ignore[arg-type]
        self._tts = tts

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if not isinstance(frame, SpeakFrame):
            await self.push_frame(frame, direction)
            return
        # Runs in this processor's process task: an InterruptionFrame cancels it mid-utterance.
        async for text, pcm in self._tts.stream(frame.text, cache=frame.cacheable):
            await self.push_frame(SpeechAudioFrame(utterance_id=frame.utterance_id, text=text, pcm=pcm))
        await self.push_frame(SpeechAudioFrame(utterance_id=frame.utterance_id, last=True))
