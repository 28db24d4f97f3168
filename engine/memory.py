"""Giving freed memory back to the operating system when the engine falls idle.

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
    """Let no thread arena keep more than ``trim_threshold`` bytes of free memory at its top; False where the C
    library cannot (not glibc) or ``trim_threshold`` is 0 (glibc's default).

    ``malloc_trim`` returns the free pages inside every arena but trims only the main arena's top: a thread
    arena gives back the top of its heap only when a ``free()`` leaves more than the trim threshold there. glibc
    raises that threshold to twice the largest buffer freed so far (up to 64 MiB), and Whisper's attention
    scores on a 20 s window are a 24 MB buffer: after the first long utterance, each thread arena kept up to
    64 MiB above the idle size with no call running (benchmarks/README.md, capacity: memory). Setting the
    threshold turns glibc's adjustment off, so the mmap threshold is pinned too, at the ceiling the adjustment
    reaches anyway: the attention buffers stay in the heap and are reused, instead of being mapped and faulted in
    on every request (a fixed low mmap threshold cost seconds of p95 at 40 calls)."""
    libc = _libc()
    if libc is None or trim_threshold <= 0:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold)
    )


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
