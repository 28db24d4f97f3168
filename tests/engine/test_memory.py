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
