"""Percentiles and per-run summaries shared by the latency and capacity benchmarks.

Percentiles use ``engine.records.percentile`` (linear interpolation between ranks), the same function
``closerr simulate`` reports with, so a benchmark's p95 and a simulated call's p95 mean the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from engine.records import percentile

STAGES = ("endpoint_s", "vad_stop_s", "stt_s", "stt_queue_s", "policy_s", "tts_s", "v2v_s")


def rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def pct(values: Sequence[float], p: float) -> float | None:
    return rounded(percentile(list(values), p))


def distribution(values: Sequence[float], prefix: str) -> dict[str, float | None]:
    """``{prefix}_p50_s``, ``_p95_s``, ``_p99_s``, ``_max_s`` of ``values`` (None when empty)."""
    return {
        f"{prefix}_p50_s": pct(values, 50),
        f"{prefix}_p95_s": pct(values, 95),
        f"{prefix}_p99_s": pct(values, 99),
        f"{prefix}_max_s": rounded(max(values)) if values else None,
    }


def stage_medians(turns: Iterable[dict[str, Any]]) -> dict[str, float | None]:
    """Median of each stage over the engine-side turn records (missing or None values are skipped).

    Engine-side ``v2v_s`` is reported as ``engine_v2v_p50_s`` so it is not confused with the caller's."""
    turns = list(turns)
    out: dict[str, float | None] = {}
    for stage in STAGES:
        values = [float(t[stage]) for t in turns if t.get(stage) is not None]
        name = "engine_v2v" if stage == "v2v_s" else stage.removesuffix("_s")
        out[f"{name}_p50_s"] = pct(values, 50)
    queue = [float(t["stt_queue_s"]) for t in turns if t.get("stt_queue_s") is not None]
    out["stt_queue_p95_s"] = pct(queue, 95)
    return out


def fit_slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of ys over xs; None with fewer than two distinct xs."""
    if len(xs) < 2 or len(set(xs)) < 2:
        return None
    mx = sum(xs) / len(xs)
    my = sum(ys) / len(ys)
    num = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    den = sum((x - mx) ** 2 for x in xs)
    return num / den
