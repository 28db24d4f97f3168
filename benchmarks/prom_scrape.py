"""What the engine's own Prometheus metrics say about a benchmark step: scraped before and after, differenced.

Busy fractions tell which shared worker saturates: the STT inference thread (one, serving every call), the Piper
threads, the event loop (its lag, and the collector's pauses). They come from ``closerr_inference_seconds``,
``closerr_inference_queue_wait_seconds``, ``closerr_event_loop_lag_seconds`` and ``closerr_gc_pause_seconds``; a
server without them (the baseline) simply yields nothing.
"""

from __future__ import annotations

import math
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(base_url: str, timeout_s: float = 5.0) -> Samples:
    """Every sample of ``/metrics``, keyed by (sample name, sorted labels); empty when there is no endpoint."""
    try:
        with urllib.request.urlopen(f"{base_url}/metrics", timeout=timeout_s) as response:
            text = response.read().decode()
    except OSError:
        return {}
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return samples


def _delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def histogram_quantile(before: Samples, after: Samples, name: str, q: float, **labels: str) -> float | None:
    """Upper bound of the bucket holding quantile ``q`` of the observations made between the scrapes."""
    buckets: list[tuple[float, float]] = []
    for (sample, sample_labels), value in after.items():
        if sample != f"{name}_bucket":
            continue
        got = dict(sample_labels)
        if any(got.get(k) != v for k, v in labels.items()):
            continue
        le = float(got["le"])
        buckets.append((le, value - before.get((sample, sample_labels), 0.0)))
    buckets.sort()
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    for le, count in buckets:
        if count >= rank:
            return le if math.isfinite(le) else None
    return None


def step_metrics(
    before: Samples, after: Samples, wall_s: float, tts_workers: int = 1, stt_workers: int = 1
) -> dict[str, Any]:
    """Per-step saturation indicators from two scrapes ``wall_s`` apart (empty without metrics)."""
    if not after or wall_s <= 0:
        return {}
    out: dict[str, Any] = {}
    stt_s = _delta(before, after, "closerr_inference_seconds_sum", model="stt")
    stt_n = _delta(before, after, "closerr_inference_seconds_count", model="stt")
    tts_s = _delta(before, after, "closerr_inference_seconds_sum", model="tts")
    tts_n = _delta(before, after, "closerr_inference_seconds_count", model="tts")
    wait_s = _delta(before, after, "closerr_inference_queue_wait_seconds_sum", model="stt")
    wait_n = _delta(before, after, "closerr_inference_queue_wait_seconds_count", model="stt")
    lag_s = _delta(before, after, "closerr_event_loop_lag_seconds_sum")
    lag_n = _delta(before, after, "closerr_event_loop_lag_seconds_count")
    out["stt_busy"] = round(stt_s / wall_s / max(stt_workers, 1), 3)  # share of the inference threads' time
    out["stt_batches"] = int(stt_n)
    out["stt_batch_mean_s"] = round(stt_s / stt_n, 4) if stt_n else None
    out["stt_requests"] = int(wait_n)
    out["stt_requests_per_batch"] = round(wait_n / stt_n, 2) if stt_n else None
    out["stt_queue_wait_mean_s"] = round(wait_s / wait_n, 4) if wait_n else None
    out["tts_busy"] = round(tts_s / wall_s / max(tts_workers, 1), 3)
    out["tts_jobs"] = int(tts_n)
    out["tts_job_mean_s"] = round(tts_s / tts_n, 4) if tts_n else None
    out["loop_lag_mean_ms"] = round(1000 * lag_s / lag_n, 2) if lag_n else None
    p99 = histogram_quantile(before, after, "closerr_event_loop_lag_seconds", 0.99)
    out["loop_lag_p99_ms_le"] = round(1000 * p99, 1) if p99 is not None else None
    # Full collections stop the loop for as long as they take: how many, and the bucket bound of the longest.
    out["gc_full_collections"] = int(_delta(before, after, "closerr_gc_pause_seconds_count", generation="2"))
    longest = histogram_quantile(before, after, "closerr_gc_pause_seconds", 1.0, generation="2")
    out["gc_full_pause_max_ms_le"] = round(1000 * longest, 1) if longest is not None else None
    return out
