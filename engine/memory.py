"""Giving freed memory back to the operating system when the engine falls idle.

Each call allocates audio buffers, frames and transcripts on several threads; glibc keeps the freed pages in its
per-thread arenas, so after a busy hour the process stays at its peak size although nothing is in use. When the
last call ends, ``malloc_trim`` returns those pages: the resident size goes back near its idle value, which is
what operators size machines by (benchmarks/README.md, capacity).
"""

from __future__ import annotations

import ctypes
import ctypes.util
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


def release_free_memory() -> bool:
    """Return the heap's free pages to the OS; False where the C library cannot (not glibc)."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
