"""Exponential backoff with full jitter: the wait before try number ``attempt + 1`` is uniform in
``[0, min(cap, base * 2**attempt)]``, so many workers that failed together do not all come back together. A
server's own ``Retry-After`` is a floor: it knows when it will take requests again."""

from __future__ import annotations

import random


def delay(
    attempt: int, *, base: float, cap: float, retry_after: float | None = None, rng: random.Random | None = None
) -> float:
    """Seconds to wait after the failure of try number ``attempt`` (0 for the first)."""
    ceiling = min(cap, base * 2 ** min(attempt, 32))
    wait = (rng or random).uniform(0, ceiling)
    if retry_after is not None and retry_after > 0:
        wait = max(wait, retry_after)
    return wait
