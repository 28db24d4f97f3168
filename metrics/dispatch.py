"""Dispatch and money: what the dispatcher did with due leads, DND blocks, credits, and the backlog."""

from __future__ import annotations

import contextlib

from prometheus_client import Counter, Gauge

from metrics import labels

DISPATCH_TOTAL = Counter(
    "closerr_dispatch",
    "Due leads the dispatcher handled, by disposition (metrics.labels.DISPATCH_DISPOSITIONS).",
    labelnames=("disposition",),
)
DND_BLOCKED_TOTAL = Counter(
    "closerr_dnd_blocked",
    "Dials refused by the DND/suppression scrub (before dispatch or at dial time).",
)
CREDITS_CONSUMED_TOTAL = Counter(
    "closerr_credits_consumed",
    "Credits settled for finished calls (billed seconds x rate), in credits.",
)
# livemostrecent: the dispatcher that looked at the database last knows the backlog; values from several
# dispatchers must not be summed (they count the same leads).
CAMPAIGN_QUEUE_DEPTH = Gauge(
    "closerr_campaign_queue_depth",
    "Leads due for dispatch now (inside the calling window, not blocked), per campaign.",
    labelnames=("campaign_id",),
    multiprocess_mode="livemostrecent",
)


def record_dispatch(disposition: object) -> None:
    """Count one dispatch decision. It does not touch ``closerr_dnd_blocked_total``: the DND check counts its
    own refusals (``record_dnd_block``), which also happen at dial time, outside any dispatch decision."""
    DISPATCH_TOTAL.labels(disposition=labels.dispatch_disposition(disposition)).inc()


def record_dnd_block() -> None:
    DND_BLOCKED_TOTAL.inc()


def record_credits_consumed(credits: float) -> None:
    if credits < 0:
        raise ValueError("credits consumed must be >= 0; refunds are ledger entries, not negative usage")
    CREDITS_CONSUMED_TOTAL.inc(credits)


def set_campaign_queue_depth(campaign_id: object, due_leads: int) -> None:
    CAMPAIGN_QUEUE_DEPTH.labels(campaign_id=labels.campaign_id(campaign_id)).set(due_leads)


def remove_campaign(campaign_id: object) -> None:
    """Drop a finished campaign's series so the gauge does not keep reporting a stale backlog."""
    label = labels.campaign_id(campaign_id)
    # In multiprocess mode remove() leaves the value in this process's file: zero it first.
    CAMPAIGN_QUEUE_DEPTH.labels(campaign_id=label).set(0)
    with contextlib.suppress(KeyError):
        CAMPAIGN_QUEUE_DEPTH.remove(label)
