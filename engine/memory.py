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


_M_ARENA_MAX = -8  # mallopt parameter, from glibc's malloc.h


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
