"""Synthesizes each ``SpeakFrame`` into ``SpeechAudioFrame`` pieces, first clause first (see engine.speech.tts).

The synthesis service speaks at one rate for every call (its cache is shared); a leg at another rate (a 16 kHz
Exotel or Plivo stream) gets each piece resampled whole, which adds no delay.
"""

from __future__ import annotations

from pipecat.frames.frames import Frame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from engine.audio.pcm import to_pcm16
from engine.audio.resample import resample
from engine.pipeline.frames import SpeakFrame, SpeechAudioFrame
from engine.speech.tts import SpeechSynthesizer


class Speaker(FrameProcessor):
    def __init__(self, tts: SpeechSynthesizer, *, sample_rate: int | None = None, **kwargs: object) -> None:
        """``sample_rate``: the rate of the audio pushed on (the leg's); the service's own by default."""
        super().__init__(name="Speaker", **kwargs)  # type: ignore[arg-type]
        self._tts = tts
        self.sample_rate = sample_rate or tts.out_rate

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if not isinstance(frame, SpeakFrame):
            await self.push_frame(frame, direction)
            return
        # Runs in this processor's process task: an InterruptionFrame cancels it mid-utterance.
        async for text, pcm in self._tts.stream(frame.text, cache=frame.cacheable):
            if self.sample_rate != self._tts.out_rate:
                pcm = to_pcm16(resample(pcm, self._tts.out_rate, self.sample_rate))
            await self.push_frame(SpeechAudioFrame(utterance_id=frame.utterance_id, text=text, pcm=pcm))
        await self.push_frame(SpeechAudioFrame(utterance_id=frame.utterance_id, last=True))
