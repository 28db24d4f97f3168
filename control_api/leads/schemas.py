"""Bodies of the lead endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class RejectedRow(msgspec.Struct, array_like=False, omit_defaults=True):
    line: int
    reason: str
    detail: str | None = None  # why a malformed_row is malformed, when the check says more than the reason


class UploadReport(msgspec.Struct):
    upload_id: str
    accepted: int
    rejected: list[RejectedRow]  # the first 1,000 in line order; the whole list is at rejections_url
    rejected_by_reason: dict[str, int]
    rows: int  # data rows seen (blank lines are not rows)
    rejected_count: int = 0
    rejected_truncated: bool = False  # more rows were rejected than ``rejected`` lists
    rejections_url: str = ""  # every rejected row as CSV (line,reason,detail)


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
