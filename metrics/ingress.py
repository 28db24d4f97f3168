"""Ingress refusals: media streams and inbound SIP calls turned away before they could run (or count as) a call.

A rising count is someone probing the media endpoint or the SIP port, or a carrier configured with a stale URL.
"""

from __future__ import annotations

from prometheus_client import Counter

from metrics import labels

MEDIA_STREAMS_REFUSED_TOTAL = Counter(
    "closerr_media_streams_refused",
    "Media streams closed before admission, by carrier and reason (metrics.labels.STREAM_REFUSALS).",
    labelnames=("carrier", "reason"),
)
SIP_INVITES_REFUSED_TOTAL = Counter(
    "closerr_sip_invites_refused",
    "Inbound SIP INVITEs refused before any call, by reason (metrics.labels.SIP_REFUSALS).",
    labelnames=("reason",),
)


def record_stream_refused(carrier: object, reason: object) -> None:
    carrier_label, reason_label = labels.media_carrier(carrier), labels.stream_refusal(reason)
    MEDIA_STREAMS_REFUSED_TOTAL.labels(carrier=carrier_label, reason=reason_label).inc()


def record_sip_refused(reason: object) -> None:
    SIP_INVITES_REFUSED_TOTAL.labels(reason=labels.sip_refusal(reason)).inc()
