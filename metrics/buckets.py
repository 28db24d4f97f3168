"""Histogram bucket boundaries, in seconds.

Voice-to-voice under ~0.8 s feels natural and above ~1.5 s feels broken, so the turn buckets step every 50 ms
up to 0.5 s and every 100-250 ms up to 3 s: p95 estimates stay within one step of the truth where SLOs live.
"""

from __future__ import annotations

# Per-turn stages and end-to-end voice-to-voice (100 ms - 3 s resolved finely).
TURN_LATENCY_BUCKETS: tuple[float, ...] = (
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.25,
    0.3,
    0.35,
    0.4,
    0.45,
    0.5,
    0.6,
    0.7,
    0.8,
    0.9,
    1.0,
    1.1,
    1.25,
    1.5,
    1.75,
    2.0,
    2.25,
    2.5,
    3.0,
    4.0,
    5.0,
    7.5,
    10.0,
)

# Whole calls: a qualification call runs 30 s - 5 min; max_call_s defaults to 600 s.
CALL_DURATION_BUCKETS: tuple[float, ...] = (
    5.0,
    10.0,
    20.0,
    30.0,
    45.0,
    60.0,
    90.0,
    120.0,
    180.0,
    240.0,
    300.0,
    450.0,
    600.0,
    900.0,
)

# A 20 ms audio frame that waits 10 ms on a busy loop is already audible as jitter.
LOOP_LAG_BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
)

# Model calls: VAD frames take microseconds, Whisper 0.3-0.5 s, queues may back up for seconds.
INFERENCE_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.2,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    1.5,
    2.0,
    3.0,
    5.0,
    10.0,
)
