"""metrics.gc_pauses: every collection's pause is timed while watching, none after."""

from __future__ import annotations

import gc

from prometheus_client import REGISTRY

from metrics import gc_pauses


def _count(generation: int) -> float:
    return REGISTRY.get_sample_value("closerr_gc_pause_seconds_count", {"generation": str(generation)}) or 0.0


def _sum(generation: int) -> float:
    return REGISTRY.get_sample_value("closerr_gc_pause_seconds_sum", {"generation": str(generation)}) or 0.0


class _Node:
    def __init__(self) -> None:
        self.me = self


def test_full_and_young_collections_are_timed_by_generation() -> None:
    full_before, young_before, sum_before = _count(2), _count(0), _sum(2)
    gc.disable()  # only the two collections below
    try:
        with gc_pauses.watching():
            nodes = [_Node() for _ in range(50_000)]  # cycles for the full collection to walk
            del nodes
            gc.collect()
            gc.collect(0)
    finally:
        gc.enable()
    assert _count(2) == full_before + 1
    assert _count(0) == young_before + 1
    assert _sum(2) > sum_before  # a walk over 50,000 objects takes measurable time


def test_nothing_is_timed_after_watching() -> None:
    with gc_pauses.watching():
        pass
    before = _count(2)
    gc.disable()
    try:
        gc.collect()
    finally:
        gc.enable()
    assert _count(2) == before
