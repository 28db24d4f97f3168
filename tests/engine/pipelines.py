"""Running a few engine processors in a real pipecat pipeline, and collecting the frames they push."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from pipecat.frames.frames import Frame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

F = TypeVar("F", bound=Frame)


class Collect(FrameProcessor, Generic[F]):
    """Passes every frame on and keeps those of ``kind``, in either direction."""

    def __init__(self, kind: type[F]) -> None:
        super().__init__()
        self._kind = kind
        self.frames: list[F] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, self._kind):
            self.frames.append(frame)
        await self.push_frame(frame, direction)


async def run_pipeline(
    processors: Sequence[FrameProcessor], script: Callable[[PipelineWorker], Awaitable[None]]
) -> None:
    """Start ``processors`` as one pipeline, run ``script`` against it, then cancel it."""
    worker = PipelineWorker(
        Pipeline(list(processors)),
        params=PipelineParams(),
        enable_rtvi=False,
        enable_turn_tracking=False,
        cancel_on_idle_timeout=False,
        idle_timeout_secs=None,
    )
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())
    await asyncio.sleep(0.2)
    await script(worker)
    await worker.cancel()
    await asyncio.wait_for(running, 10)
