"""Leads as a PostgreSQL binary COPY stream, encoded here instead of by asyncpg's generic record encoder.

asyncpg encodes each of a lead's 14 columns through its codec machinery (~4 us a row, in the event loop's
thread, competing with the parser); most columns are the same on every row of an upload, so they are encoded
once, and a row costs one ``struct.pack`` and a few joins.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import repeat
from typing import Final

HEADER: Final = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER: Final = struct.pack(">h", -1)
COLUMNS: Final = (
    "account_id",
    "campaign_id",
    "upload_id",
    "line",
    "phone",
    "name",
    "metadata",
    "consent_source",
    "consent_at",
    "consent_purpose",
    "consent_attested_by",
    "status",
    "attempts",
    "created_at",
)
COLUMNS_WITH_ID: Final = ("id", *COLUMNS)
_NULL: Final = struct.pack(">i", -1)
_PG_EPOCH: Final = datetime(2000, 1, 1, tzinfo=UTC)
_LINE_PHONE: Final = struct.Struct(">iiiq")
_COUNT_ID: Final = struct.Struct(">hiq")


def text(value: str | None) -> bytes:
    if value is None:
        return _NULL
    raw = value.encode()
    return struct.pack(">i", len(raw)) + raw


def jsonb(value: str | None) -> bytes:
    if value is None:
        return _NULL
    raw = value.encode()
    return struct.pack(">ib", len(raw) + 1, 1) + raw  # jsonb's binary form: version 1, then the JSON text


def timestamptz(value: datetime | None) -> bytes:
    if value is None:
        return _NULL
    delta = value - _PG_EPOCH
    return struct.pack(">iq", 8, (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)


class LeadCopyEncoder:
    """One upload's rows: ``encode`` answers a complete COPY stream (header, rows, trailer)."""

    def __init__(
        self,
        account_id: str,
        campaign_id: str,
        upload_id: str,
        attestation: tuple[str, datetime, str] | None,
        attested_by: str,
        now: datetime,
    ) -> None:
        self._ids = text(account_id) + text(campaign_id) + text(upload_id)
        self._head = struct.pack(">h", len(COLUMNS)) + self._ids
        self._attestation = attestation
        self._tail = text(attested_by) + text("pending") + struct.pack(">ii", 4, 0) + timestamptz(now)
        source, at, purpose = attestation if attestation else (None, None, None)
        self._consent = self._consent_of(source, at, purpose)

    def _consent_of(self, source: str | None, at: datetime | None, purpose: str | None) -> bytes:
        a_source, a_at, a_purpose = self._attestation if self._attestation else (None, None, None)
        return text(source or a_source) + timestamptz(at or a_at) + text(purpose or a_purpose)

    def encode(
        self,
        rows: Iterable[tuple[int, int, str | None, str | None, str | None, datetime | None, str | None]],
        ids: Iterable[int] | None = None,
    ) -> bytes:
        """``ids``, one per row, fill the ``id`` column first (``COLUMNS_WITH_ID``)."""
        tail, consent, pack = self._tail, self._consent, _LINE_PHONE.pack
        if ids is None:
            heads: Iterable[bytes] = repeat(self._head)
        else:
            count_id, constants = _COUNT_ID.pack, self._ids
            heads = (count_id(len(COLUMNS) + 1, 8, i) + constants for i in ids)
        parts = [HEADER]
        append = parts.append
        for head, (line, phone, name, meta, c_source, c_at, c_purpose) in zip(heads, rows, strict=False):
            if name is None:
                name_b = _NULL
            else:
                raw = name.encode()
                name_b = struct.pack(">i", len(raw)) + raw
            if meta is None:
                meta_b = _NULL
            else:
                raw = meta.encode()
                meta_b = struct.pack(">ib", len(raw) + 1, 1) + raw
            row_consent = (
                consent
                if c_source is None and c_at is None and c_purpose is None
                else self._consent_of(c_source, c_at, c_purpose)
            )
            append(b"".join((head, pack(4, line, 8, phone), name_b, meta_b, row_consent, tail)))
        append(TRAILER)
        return b"".join(parts)
