"""Bodies of the lead endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class RejectedRow(msgspec.Struct, array_like=False):
    line: int
    reason: str


class UploadReport(msgspec.Struct):
    upload_id: str
    accepted: int
    rejected: list[RejectedRow]
    rejected_by_reason: dict[str, int]
    rows: int  # data rows seen (blank lines are not rows)


class ConsentRecord(msgspec.Struct):
    source: str
    at: datetime
    purpose: str
    attested_by: str
    upload_id: str


class LeadView(msgspec.Struct):
    id: int
    phone: str
    name: str | None
    metadata: dict[str, Any] | None
    status: str
    attempts: int
    consent: ConsentRecord
    line: int
    created_at: datetime
    next_attempt_at: datetime | None  # when the dispatcher looks at it next
    next_attempt_reason: str | None  # callback, voicemail, retry, error, window, time_band


class LeadPage(msgspec.Struct):
    items: list[LeadView]
    next_cursor: str | None
