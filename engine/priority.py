"""CPU priority of the inference threads: below the event loop that paces every call's audio.

A burst of turn ends puts Whisper and Smart-Turn to work at once. On 2 cores they then compete with the
event loop, and a 20 ms media frame sent late is an underrun the caller hears. Inference threads run at a
higher nice value (``CLOSERR_INFERENCE_NICE``), so the loop wins the CPU whenever it has a frame to send; a
transcript may come a few milliseconds later instead. The default is mild (4: the loop gets about 2.4 times the
share of an inference thread) because the nice value counts against every process on the machine: at 10, a test
suite running beside the engine took so much CPU from Whisper that replies came seconds late. Piper keeps the
loop's priority (``engine/services.py``): a reply's next clause must be ready before the one playing ends.

On Linux the nice value belongs to each thread and threads inherit it from the thread that starts them, which is
how the worker threads CTranslate2 and onnxruntime start themselves are covered: the models are loaded from a
thread that already runs at the lower priority.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def lower_thread_priority(nice: int) -> None:
    """Run the calling thread (only) at ``nice``, if that is lower priority than it has now."""
    try:
        tid = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at the inherited priority
        pass


def thread_nice() -> int:
    """The calling thread's nice value."""
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def run_at_low_priority(fn: Callable[[], T], nice: int) -> T:
    """``fn()`` on a short-lived thread at ``nice``, so every thread it starts inherits that priority."""
    with ThreadPoolExecutor(max_workers=1, initializer=lower_thread_priority, initargs=(nice,)) as pool:
        return pool.submit(fn).result()
