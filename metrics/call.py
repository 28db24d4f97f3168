"""Per-call metrics: how many calls, how they ended, how long they ran, and how the audio held up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

from metrics import labels
from metrics.buckets import CALL_DURATION_BUCKETS

CALLS_TOTAL = Counter(
    "closerr_calls",  # prometheus_client appends _total
    "Finished call attempts. status: metrics.labels.CALL_STATUSES; outcome: metrics.labels.CALL_OUTCOMES.",
    labelnames=("status", "outcome"),
)
CALL_DURATION_SECONDS = Histogram(
    "closerr_call_duration_seconds",
    "Answered -> hung up, per finished call.",
    buckets=CALL_DURATION_BUCKETS,
)
# livesum: the host total across workers; a dead worker's calls drop out once its files are marked dead.
ACTIVE_CALLS = Gauge(
    "closerr_active_calls",
    "Calls in progress (media connected, not yet finished).",
    multiprocess_mode="livesum",
)
INTERRUPTIONS_TOTAL = Counter(
    "closerr_interruptions",
    "Barge-ins: the lead spoke over the bot and the bot stopped talking.",
)
AUDIO_UNDERRUNS_TOTAL = Counter(
    "closerr_audio_underruns",
    "Outbound audio frames sent late (the carrier's playout buffer ran dry while the bot was talking).",
)
LEAD_SILENCE_TOTAL = Counter(
    "closerr_lead_silence",
    "Times the lead stayed silent past the silence timeout and the bot had to re-prompt or hang up.",
)


def record_call_finished(status: object, outcome: object | None, duration_s: float) -> None:
    """Count one finished call attempt; unanswered attempts pass ``outcome=None`` and ``duration_s=0``."""
    CALLS_TOTAL.labels(status=labels.call_status(status), outcome=labels.call_outcome(outcome)).inc()
    if duration_s > 0:
        CALL_DURATION_SECONDS.observe(duration_s)


@contextmanager
def track_active_call() -> Iterator[None]:
    """Hold ``closerr_active_calls`` up for the body's duration, even if the call fails or is cancelled."""
    ACTIVE_CALLS.inc()
    try:
        yield
    finally:
        ACTIVE_CALLS.dec()
