"""Faults the dispatcher rides out: settlements retried while the database is away or its disk is full, carrier
requests that failed and were retried, and each carrier's circuit breaker."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from metrics import labels

SETTLEMENT_RETRIES_TOTAL = Counter(
    "closerr_settlement_retries",
    "Call settlements that failed on a passing database fault and were tried again, by reason.",
    labelnames=("reason",),
)
CARRIER_FAULTS_TOTAL = Counter(
    "closerr_carrier_faults",
    "Originate requests a carrier failed transiently (or the open breaker refused), by carrier and kind.",
    labelnames=("carrier", "kind"),
)
# 0 closed, 1 half-open, 2 open; each worker has its own breaker, so values are per process.
CARRIER_BREAKER_STATE = Gauge(
    "closerr_carrier_breaker_state",
    "The carrier's circuit breaker in this worker: 0 closed, 1 half-open (one trial dial), 2 open (no dials).",
    labelnames=("carrier",),
    multiprocess_mode="livemax",
)
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}


def record_settlement_retry(reason: object) -> None:
    SETTLEMENT_RETRIES_TOTAL.labels(reason=labels.storage_fault(reason)).inc()


def record_carrier_fault(carrier: object, kind: object) -> None:
    CARRIER_FAULTS_TOTAL.labels(carrier=labels.carrier(carrier), kind=labels.carrier_fault(kind)).inc()


def set_breaker_state(carrier: object, state: str) -> None:
    CARRIER_BREAKER_STATE.labels(carrier=labels.carrier(carrier)).set(BREAKER_STATES[state])
