"""Bounded label vocabularies and the guard that keeps personal data out of label values.

Every label value goes through one of these functions, so a caller passing a phone number, a name or a
free-form error string can neither leak personal data into Prometheus nor blow up its series count: unknown
values collapse to ``"other"``. The vocabularies are plain strings because this layer imports nothing of
ours; they mirror the engine's ``Outcome`` enum and the dispatcher's dispositions.
"""

from __future__ import annotations

import re
from typing import Final

OTHER: Final = "other"
NONE: Final = "none"

# Terminal status of a call attempt (carrier/engine view).
CALL_STATUSES: Final[frozenset[str]] = frozenset(
    {"completed", "no_answer", "busy", "failed", "error", "canceled", "balance_low", "timeout"}
)
# Statuses the error-rate alert counts as errors (alert rules and docs/telemetry.md use the same set).
ERROR_STATUSES: Final[frozenset[str]] = frozenset({"failed", "error"})

# Business outcome of an answered call (engine.agent.policy.Outcome values) plus "none" for unanswered calls.
CALL_OUTCOMES: Final[frozenset[str]] = frozenset(
    {
        "qualified",
        "not_qualified",
        "needs_review",
        "callback_requested",
        "opted_out",
        "wrong_person",
        "voicemail",
        "no_response",
        "hung_up",
        "transferred",
        "error",
        NONE,
    }
)

# What the dispatcher did with a lead that was due.
DISPATCH_DISPOSITIONS: Final[frozenset[str]] = frozenset(
    {
        "dialed",
        "dnd_blocked",
        "consent_missing",
        "invalid_number",
        "outside_window",
        "balance_low",
        "concurrency_wait",
        "suppressed",
        "rescheduled",
        "error",
    }
)

# Why a media stream or an inbound SIP call was refused before it was admitted.
STREAM_REFUSALS: Final[frozenset[str]] = frozenset(
    {
        "unknown_call",
        "missing_token",
        "bad_token",
        "expired_token",
        "protocol_error",
        "unsupported_media",
        "no_start",
        "unknown_carrier",
    }
)
SIP_REFUSALS: Final[frozenset[str]] = frozenset({"source_not_allowed", "bad_credentials"})
MEDIA_CARRIERS: Final[frozenset[str]] = frozenset({"twilio", "exotel", "plivo"})

# Carriers the dispatcher originates through, and why a settlement or an originate request failed and was retried.
CARRIERS: Final[frozenset[str]] = frozenset({"simulated", "twilio", "exotel", "plivo", "sip"})
STORAGE_FAULTS: Final[frozenset[str]] = frozenset({"disk_full", "db_unavailable", "db_resources"})
CARRIER_FAULTS: Final[frozenset[str]] = frozenset({"http_5xx", "http_429", "timeout", "unreachable", "breaker_open"})

# Models whose inference is queued and timed.
MODELS: Final[frozenset[str]] = frozenset({"stt", "tts", "vad", "turn", "llm"})

# A run of 7+ digits, possibly written with the separators people use ("+91 98765-43210", "(022) 2345 6789"),
# reads as a phone number: Indian mobiles have 10 digits, landlines 8+ with the area code. UUIDs are exempt
# because their hex groups often hold long digit runs by chance.
_PHONE_RUN = re.compile(r"\+?\d[\d\s\-().]*\d")
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
_CAMPAIGN_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
PHONE_MIN_DIGITS: Final = 7


def looks_like_phone_number(value: str) -> bool:
    """True when ``value`` holds a run of 7+ digits (separators allowed between them), UUIDs excepted."""
    if _UUID.fullmatch(value.strip()):
        return False
    return any(sum(ch.isdigit() for ch in run.group()) >= PHONE_MIN_DIGITS for run in _PHONE_RUN.finditer(value))


def _bounded(value: object, allowed: frozenset[str]) -> str:
    text = str(value).strip().lower().replace("-", "_")
    return text if text in allowed else OTHER


def call_status(value: object) -> str:
    return _bounded(value, CALL_STATUSES)


def call_outcome(value: object | None) -> str:
    return NONE if value is None else _bounded(value, CALL_OUTCOMES)


def dispatch_disposition(value: object) -> str:
    return _bounded(value, DISPATCH_DISPOSITIONS)


def stream_refusal(value: object) -> str:
    return _bounded(value, STREAM_REFUSALS)


def sip_refusal(value: object) -> str:
    return _bounded(value, SIP_REFUSALS)


def media_carrier(value: object) -> str:
    return _bounded(value, MEDIA_CARRIERS)


def carrier(value: object) -> str:
    return _bounded(value, CARRIERS)


def storage_fault(value: object) -> str:
    return _bounded(value, STORAGE_FAULTS)


def carrier_fault(value: object) -> str:
    return _bounded(value, CARRIER_FAULTS)


def model(value: object) -> str:
    return _bounded(value, MODELS)


def campaign_id(value: object | None) -> str:
    """A campaign id fit for a label; raises ``ValueError`` for anything that could be personal data.

    Raising (instead of collapsing to "other") is deliberate: campaign ids come from our own database, so a
    phone-number-shaped one is a programming error that must surface in tests, not be hidden.
    """
    if value is None:
        return NONE
    text = str(value)
    if not _CAMPAIGN_ID.fullmatch(text):
        raise ValueError("campaign_id label must be 1-64 chars of [A-Za-z0-9_.:-]")
    if looks_like_phone_number(text):
        raise ValueError("campaign_id label looks like a phone number; use the campaign's database id")
    return text
