"""Bodies of the DND and consent endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec


class TimeBand(msgspec.Struct):
    start: str
    end: str


class DndEntryView(msgspec.Struct):
    scope: str  # "registry" (national registry simulation) or "account" (your own suppression list)
    blocked_all: bool
    accepted_categories: list[int]
    time_bands: list[TimeBand] | None
    source: str
    created_at: datetime


class VerdictView(msgspec.Struct):
    category: int
    allowed: bool
    reason: str | None


class DndLookup(msgspec.Struct):
    phone: str
    listed: bool
    entries: list[DndEntryView]
    verdict: VerdictView | None = None


class ImportReport(msgspec.Struct):
    rows: int
    imported: int
    invalid_number: int
    malformed_row: int
    rejected_lines: list[int]  # the first 1,000 rejected lines, for fixing the file
    scope: str


class WithdrawRequest(msgspec.Struct, forbid_unknown_fields=True):
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class WithdrawResult(msgspec.Struct):
    phone: str
    suppressed: bool
    source: str
    created_at: datetime
