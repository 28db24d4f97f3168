"""Giving freed memory back to the operating system when the engine falls idle, and collecting the finished calls'
garbage while calls run (``CallGarbage``).

Each call allocates audio buffers, frames and transcripts on several threads; glibc keeps the freed pages in its
per-thread arenas, so after a busy hour the process stays at its peak size although nothing is in use. When the
last call ends, ``malloc_trim`` returns those pages: the resident size goes back near its idle value, which is
what operators size machines by (benchmarks/README.md, capacity).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import cache


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim  # noqa: B018 - only glibc has it
    except (OSError, AttributeError):
        return None
    return libc


# mallopt parameters, from glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
# glibc's own ceiling for its dynamic mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX).
MMAP_THRESHOLD_MAX = 32 * 2**20


def limit_malloc_arenas(arenas: int) -> bool:
    """Let at most ``arenas`` glibc malloc arenas serve the process's threads; False where the C library cannot.

    glibc gives each new thread its own arena, up to 8 per core. Each arena keeps pages freed inside it (a buffer
    still in use pins the pages around it), so with a dozen inference threads the process stayed about 60 MiB above
    its start-up size and grew after every burst of calls. With two arenas the engine idles 55 MiB smaller and
    returns to within 3 % of that after 24 calls, at the same CPU and latency (benchmarks/README.md, capacity:
    memory). It must run before the threads that should share arenas make their first allocation."""
    libc = _libc()
    if libc is None or arenas <= 0:
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, arenas))


def cap_heap_top(trim_threshold: int) -> bool:
    """Let a thread arena keep at most ``trim_threshold`` bytes free at its top; False where the C library cannot
    (not glibc) or ``trim_threshold`` is 0.

    ``malloc_trim`` returns the free pages inside every arena but trims only the main arena's top: a thread arena
    gives back the top of its heap only when a ``free()`` of 64 KiB or more leaves more than the trim threshold
    there. Setting the threshold turns glibc's own adjustment off, so the mmap threshold is pinned too, at the
    ceiling that adjustment reaches anyway: Whisper's attention buffers stay in the heap and are reused rather
    than mapped and faulted in on every request (a fixed low mmap threshold cost seconds of p95 at 40 calls)."""
    libc = _libc()
    if libc is None or trim_threshold <= 0:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold)
    )


# While calls run: what glibc's adjustment reaches after the first large buffers (twice the mmap ceiling). A low
# threshold during calls would give back and fault in Whisper's 10-25 MB attention buffers on every request:
# with 8 MiB, 10,000 page faults and 20 ms more system CPU per request on 4-22 s utterances.
BUSY_TRIM_THRESHOLD = 2 * MMAP_THRESHOLD_MAX


def release_free_memory() -> bool:
    """Free the finished calls' garbage, then return the heap's free pages to the OS; False where the C library
    cannot (not glibc).

    A call's pipeline objects refer to each other, so they wait for a full collection, which may not come for
    a long while (the models' objects are frozen out of it): collected first, their memory is trimmed too. With
    no call running, the collection's pause on the event loop is felt by nobody."""
    gc.collect()
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


# Measured at 24 calls (benchmarks/README.md, soak): a running call holds about 1,500 objects the collector tracks,
# and an ended one leaves about 800 in reference cycles (a pipecat pipeline links its processors both ways), which
# only a full collection frees. Left to CPython's thresholds, a full collection came every ~2 minutes and walked ~75
# ended calls' cycles besides the running calls: 40-66 ms with the event loop stopped, beyond the playout's 60 ms
# pre-buffer, so every call speaking at that moment heard a gap (13-46 underruns at once).
FULL_COLLECTION_EVERY_CALLS = 8


class CallGarbage:
    """Runs a full collection after every ``every_calls`` ended calls, so each one walks the running calls and
    only a few ended calls' cycles: a short pause, often, instead of a long one that the playout's pre-buffer cannot
    cover. CPython's own full collections become rare (each collection here resets their count); the start-up
    objects are frozen out of every collection (``Engine.services``)."""

    def __init__(self, every_calls: int = FULL_COLLECTION_EVERY_CALLS) -> None:
        if every_calls < 1:
            raise ValueError("every_calls must be >= 1")
        self.every_calls = every_calls
        self.collections = 0
        self._ended = 0

    def call_ended(self) -> bool:
        """Count one ended call; collect (on the calling thread) when it is the ``every_calls``-th. Returns whether
        it collected."""
        self._ended += 1
        if self._ended < self.every_calls:
            return False
        self._ended = 0
        gc.collect()
        self.collections += 1
        return True
