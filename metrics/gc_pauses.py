"""Garbage-collection pauses: how long each collection held the interpreter, so every thread and the event loop
waited (``closerr_gc_pause_seconds``, by generation).

A full collection walks every object the process has not frozen; on an engine carrying calls that is every call's
pipeline, and the pause reaches the calls as late audio frames. The loop-lag timer wakes every 0.25 s and sees
only the pauses that cover a wake-up; a collection callback sees each one.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from typing import Any

from metrics.process import GC_PAUSE_SECONDS


class _PauseTimer:
    def __init__(self) -> None:
        self._started = 0.0
        self._by_generation = [GC_PAUSE_SECONDS.labels(generation=str(g)) for g in range(3)]

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        # Collections never overlap (the collecting thread holds the interpreter), so one start time suffices.
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self._by_generation[min(int(info["generation"]), 2)].observe(time.perf_counter() - self._started)


@contextlib.contextmanager
def watching() -> Iterator[None]:
    """Time every collection for the body's duration."""
    timer = _PauseTimer()
    gc.callbacks.append(timer)
    try:
        yield
    finally:
        gc.callbacks.remove(timer)
