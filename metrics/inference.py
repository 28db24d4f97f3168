"""Timing model jobs handed to a thread pool: queue wait (submitted -> started) and run time, per model.

``run_in_executor`` covers the common case. Engine code with its own queue can use ``QueuedJob`` directly:
create it when the job is queued, call ``started()`` when a worker picks it up and ``finished()`` when done.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TypeVar

from metrics import labels
from metrics.process import INFERENCE_QUEUE_DEPTH, INFERENCE_QUEUE_WAIT_SECONDS, INFERENCE_SECONDS

T = TypeVar("T")


class QueuedJob:
    """One model job's life: queued -> started -> finished, or queued -> abandoned (cancelled before start).

    The lock makes ``started`` and ``abandon`` race-free: a job cancelled while a worker picks it up is
    counted exactly once, so the queue-depth gauge cannot drift.
    """

    def __init__(self, model: str) -> None:
        self.model = labels.model(model)
        self._enqueued = time.perf_counter()
        self._started: float | None = None
        self._done = False
        self._lock = threading.Lock()
        INFERENCE_QUEUE_DEPTH.labels(model=self.model).inc()

    def started(self) -> bool:
        """Mark the job picked up; False if it was abandoned first (the worker should then skip it)."""
        with self._lock:
            if self._done or self._started is not None:
                return False
            self._started = time.perf_counter()
        INFERENCE_QUEUE_DEPTH.labels(model=self.model).dec()
        INFERENCE_QUEUE_WAIT_SECONDS.labels(model=self.model).observe(self._started - self._enqueued)
        return True

    def finished(self) -> None:
        with self._lock:
            if self._done or self._started is None:
                return
            self._done = True
            elapsed = time.perf_counter() - self._started
        INFERENCE_SECONDS.labels(model=self.model).observe(elapsed)

    def abandon(self) -> None:
        """The job will never run (cancelled while queued): take it off the queue-depth gauge."""
        with self._lock:
            if self._done or self._started is not None:
                return
            self._done = True
        INFERENCE_QUEUE_DEPTH.labels(model=self.model).dec()


async def run_in_executor(model: str, executor: Executor | None, fn: Callable[[], T]) -> T:
    """``loop.run_in_executor`` with queue-wait and run-time metrics.

    Bind arguments with ``functools.partial``."""
    job = QueuedJob(model)

    def timed() -> T:
        if not job.started():
            # Cancelled while queued: nobody awaits the result, so spare the model the work.
            raise asyncio.CancelledError
        try:
            return fn()
        finally:
            job.finished()

    try:
        return await asyncio.get_running_loop().run_in_executor(executor, timed)
    except asyncio.CancelledError:
        job.abandon()  # no-op if the worker already started it
        raise
