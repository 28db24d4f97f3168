"""Answering-machine detection in the pipeline: between the leg and the listener, it passes every frame on and
adds an ``AnsweredByFrame`` when the inbound audio (``engine.audio.amd``) or the carrier's verdict says who
answered. It stops looking at audio once it knows (a person, or the end of the machine's greeting)."""

from __future__ import annotations

from loguru import logger
from pipecat.frames.frames import Frame, InputAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from engine.answered_by import AnsweredByInbox
from engine.audio.amd import MachineDetector, Verdict
from engine.audio.pcm import samples_per_frame
from engine.pipeline.frames import AnsweredByFrame


class MachineDetectorStage(FrameProcessor):
    def __init__(self, sample_rate: int, inbox: AnsweredByInbox | None = None, **kwargs: object) -> None:
        super().__init__(name="MachineDetector", **kwargs)  # type: ignore[arg-type]
        self._detector = MachineDetector(sample_rate)
        self._frame_bytes = samples_per_frame(sample_rate) * 2
        self._buffer = b""
        self._inbox = inbox
        self._listening = False

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if not self._listening and self._inbox is not None:
            self._listening = True
            self._inbox.listen(self._on_carrier)
        if isinstance(frame, InputAudioRawFrame) and not self._detector.done:
            self._buffer += frame.audio
            verdicts: list[Verdict] = []
            while len(self._buffer) >= self._frame_bytes:
                chunk, self._buffer = self._buffer[: self._frame_bytes], self._buffer[self._frame_bytes :]
                verdicts += self._detector.feed(chunk)
            await self._push(verdicts)

    def _on_carrier(self, answered_by: str, message_end: bool) -> None:
        verdicts = self._detector.carrier(answered_by, message_end)
        if not verdicts:
            return
        try:
            self.create_task(self._push(verdicts), "carrier-answered-by")
        except Exception as exc:  # the call is ending: its pipeline takes no new work, and the callback must not fail
            logger.info("carrier verdict after the call's end dropped: {}", type(exc).__name__)

    async def _push(self, verdicts: list[Verdict]) -> None:
        for v in verdicts:
            frame = AnsweredByFrame(answered_by=v.answered_by, source=v.source, message_end=v.message_end)
            await self.push_frame(frame)
