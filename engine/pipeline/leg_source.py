"""First stage: turns the media leg's inbound events into frames, resampled to the rate the listener hears at."""

from __future__ import annotations

import asyncio
import time

from loguru import logger
from pipecat.frames.frames import Frame, InputAudioRawFrame, StartFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from engine.audio.resample import StreamResampler
from engine.pipeline.frames import LeadDtmfFrame, LegClosedFrame, LegMarkFrame
from engine.telephony.leg import AudioIn, DtmfIn, LegClosed, MarkPlayed, MediaLeg


class LegSource(FrameProcessor):
    def __init__(self, leg: MediaLeg, *, sample_rate: int | None = None, **kwargs: object) -> None:
        """``sample_rate``: the rate of the frames pushed on; the leg's own by default."""
        super().__init__(name="LegSource", **kwargs)  # type: ignore[arg-type]
        self._leg = leg
        self.sample_rate = sample_rate or leg.sample_rate
        self._reader: asyncio.Task[None] | None = None
        self.last_audio_at = 0.0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, StartFrame) and self._reader is None:
            self._reader = self.create_task(self._read(), "leg-reader")

    async def _read(self) -> None:
        rate = self.sample_rate
        resampler = StreamResampler(self._leg.sample_rate, rate) if rate != self._leg.sample_rate else None
        try:
            async for event in self._leg.events():
                if isinstance(event, AudioIn):
                    self.last_audio_at = time.monotonic()
                    pcm = event.pcm if resampler is None else resampler.process(event.pcm)
                    await self.push_frame(InputAudioRawFrame(audio=pcm, sample_rate=rate, num_channels=1))
                elif isinstance(event, DtmfIn):
                    await self.push_frame(LeadDtmfFrame(digit=event.digit))
                elif isinstance(event, MarkPlayed):
                    await self.push_frame(LegMarkFrame(mark=event.name))
                elif isinstance(event, LegClosed):
                    await self.push_frame(LegClosedFrame(reason=event.reason, by_remote=event.by_remote))
                    return
        except Exception as exc:  # a broken leg ends this call only
            logger.warning("media leg failed: {}", type(exc).__name__)
            await self.push_frame(LegClosedFrame(reason=f"leg error: {type(exc).__name__}", by_remote=False))
            return
        await self.push_frame(LegClosedFrame(reason="leg ended", by_remote=True))

    async def cleanup(self) -> None:
        if self._reader is not None:
            await self.cancel_task(self._reader)
            self._reader = None
        await super().cleanup()
