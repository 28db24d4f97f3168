"""Process health: event-loop lag, garbage-collection pauses and model inference queues.

Audio frames are paced on the event loop, so loop lag is the earliest sign of choppy audio; a collection stops
the loop too, and the lag timer (every 0.25 s) sees only the pauses that happen to cover its wake-up; inference
queue wait shows when a host has more calls than model workers.
"""

from __future__ import annotations

from prometheus_client import Gauge, Histogram

from metrics.buckets import INFERENCE_BUCKETS, LOOP_LAG_BUCKETS

EVENT_LOOP_LAG_SECONDS = Histogram(
    "closerr_event_loop_lag_seconds",
    "How late the event loop woke a periodic timer (metrics.loop_lag.monitor).",
    buckets=LOOP_LAG_BUCKETS,
)
# livemax: the worst living process is what matters for an alert; a dead worker's last value must not linger.
EVENT_LOOP_LAG_LAST_SECONDS = Gauge(
    "closerr_event_loop_lag_last_seconds",
    "The most recent event-loop lag measurement (max over the host's processes).",
    multiprocess_mode="livemax",
)
GC_PAUSE_SECONDS = Histogram(
    "closerr_gc_pause_seconds",
    "How long each garbage collection held the interpreter (and stopped the event loop), by generation (0-2; "
    "2 is a full collection, metrics.gc_pauses).",
    labelnames=("generation",),
    buckets=LOOP_LAG_BUCKETS,
)
INFERENCE_QUEUE_WAIT_SECONDS = Histogram(
    "closerr_inference_queue_wait_seconds",
    "Time a model job waited for a free model worker, by model (metrics.labels.MODELS).",
    labelnames=("model",),
    buckets=INFERENCE_BUCKETS,
)
INFERENCE_SECONDS = Histogram(
    "closerr_inference_seconds",
    "Time a model job ran on its worker, by model (metrics.labels.MODELS).",
    labelnames=("model",),
    buckets=INFERENCE_BUCKETS,
)
INFERENCE_QUEUE_DEPTH = Gauge(
    "closerr_inference_queue_depth",
    "Model jobs submitted and not yet started, by model.",
    labelnames=("model",),
    multiprocess_mode="livesum",
)
