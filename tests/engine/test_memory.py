import gc
import subprocess
import sys
from pathlib import Path

import pytest

from closerr.settings import Settings
from engine.memory import limit_malloc_arenas, release_free_memory


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_freed_heap_pages_go_back_to_the_os():
    blocks = [bytes(64_000) for _ in range(3000)]  # ~190 MB of heap chunks, each below the mmap threshold
    pin = bytes(64_000)  # allocated after them: free() alone cannot shrink the heap past it
    del blocks
    before = rss_mb()
    if not release_free_memory():
        pytest.fail("malloc_trim is unavailable: the engine runs on glibc (Debian) here")
    assert before - rss_mb() > 100, "freed pages were not returned"
    assert pin


def test_garbage_held_in_reference_cycles_is_freed_and_returned():
    """A finished call's pipeline objects refer to each other: only a collection frees them."""

    class Node:
        def __init__(self) -> None:
            self.payload = bytes(64_000)
            self.me = self

    gc.disable()  # as when the next automatic full collection is far away
    try:
        nodes = [Node() for _ in range(3000)]
        pin = bytes(64_000)
        del nodes
        before = rss_mb()
        assert release_free_memory()
        assert before - rss_mb() > 100, "cyclic garbage was not collected before the trim"
        assert pin
    finally:
        gc.enable()


_ARENA_PROBE = """
import ctypes, sys, threading
from engine.memory import limit_malloc_arenas
limit = int(sys.argv[1])
if limit:
    assert limit_malloc_arenas(limit)
held, ready = [], threading.Barrier(7)
def allocate():
    held.append(bytearray(100_000))  # above pymalloc's limit, below the mmap threshold: an arena chunk
    ready.wait()
threads = [threading.Thread(target=allocate) for _ in range(6)]
for t in threads:
    t.start()
ready.wait()
ctypes.CDLL(None).malloc_stats()  # one "Arena N:" block per arena, on stderr
"""


def _arenas(limit: int) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _ARENA_PROBE, str(limit)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    return sum(1 for line in done.stderr.splitlines() if line.startswith("Arena "))


def test_threads_share_the_configured_number_of_malloc_arenas():
    unlimited = _arenas(0)
    assert unlimited > 2, "glibc gave the threads no arenas of their own: the probe proves nothing"
    assert _arenas(2) == 2


def test_arena_limit_is_the_settings_default_and_off_at_zero():
    assert Settings().malloc_arenas == 2
    assert not limit_malloc_arenas(0)
