import gc
from pathlib import Path

import pytest

from engine.memory import release_free_memory


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
