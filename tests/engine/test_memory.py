import gc
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from config.settings import Settings
from engine.memory import CallGarbage, cap_heap_top, limit_malloc_arenas, release_free_memory


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


def _run_probe(probe: str, argument: int) -> subprocess.CompletedProcess[str]:
    """Run ``probe`` in a fresh interpreter: malloc settings must be made before its threads allocate."""
    return subprocess.run(
        [sys.executable, "-c", probe, str(argument)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )


def _arenas(limit: int) -> int:
    done = _run_probe(_ARENA_PROBE, limit)
    return sum(1 for line in done.stderr.splitlines() if line.startswith("Arena "))


def test_threads_share_the_configured_number_of_malloc_arenas():
    unlimited = _arenas(0)
    assert unlimited > 2, "glibc gave the threads no arenas of their own: the probe proves nothing"
    assert _arenas(2) == 2


def test_arena_limit_is_the_settings_default_and_off_at_zero():
    assert Settings().malloc_arenas == 2
    assert not limit_malloc_arenas(0)


_HEAP_TOP_PROBE = """
import ctypes, sys, threading
import weakref

from engine.memory import CallGarbage, cap_heap_top, limit_malloc_arenas, release_free_memory
assert limit_malloc_arenas(2)
cap = int(sys.argv[1])
if cap:
    assert cap_heap_top(cap)
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20

def infer():
    # As a Whisper worker thread: a 30 MB buffer, then a 24 MB one, each written and freed.
    for size in (30 * 2**20, 24 * 2**20):
        buffer = libc.malloc(size)
        ctypes.memset(buffer, 1, size)
        libc.free(buffer)

before = rss_mb()
worker = threading.Thread(target=infer)  # the first thread gets the second arena
worker.start()
worker.join()
assert release_free_memory()
print(rss_mb() - before)
"""


def _kept_after_trim_mb(trim_threshold: int) -> float:
    return float(_run_probe(_HEAP_TOP_PROBE, trim_threshold).stdout.strip())


def test_a_thread_arena_gives_back_large_freed_buffers_when_its_top_is_capped():
    uncapped = _kept_after_trim_mb(0)
    assert uncapped > 16, "glibc gave the freed buffer back anyway: the probe proves nothing"
    assert _kept_after_trim_mb(8 * 2**20) < 4


def test_heap_top_cap_is_the_settings_default_and_off_at_zero():
    assert Settings().malloc_trim_threshold_mb == 1
    assert not cap_heap_top(0)


class _Pipeline:
    """Stands for a finished call's pipeline: objects that refer to each other, freed only by a collection."""

    def __init__(self) -> None:
        self.me = self


def test_ended_calls_cycles_are_collected_every_nth_call_not_before():
    garbage = CallGarbage(every_calls=3)
    gc.disable()  # only the engine's own collections may free the cycles
    try:
        gc.collect()
        ended = [weakref.ref(_Pipeline()) for _ in range(2)]
        assert not garbage.call_ended() and not garbage.call_ended()
        assert all(ref() is not None for ref in ended), "collected before the third ended call"
        assert garbage.call_ended()
        assert all(ref() is None for ref in ended)
        assert garbage.collections == 1
        later = weakref.ref(_Pipeline())
        assert not garbage.call_ended() and later() is not None  # the count starts again
    finally:
        gc.enable()


def test_call_garbage_needs_at_least_one_call():
    with pytest.raises(ValueError, match="every_calls"):
        CallGarbage(every_calls=0)
