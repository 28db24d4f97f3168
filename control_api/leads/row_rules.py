"""The rules one lead row must pass, whatever the upload's format: a mobile number, a name and metadata within
bounds, a readable consent record (the row's own or the campaign-level attestation), the no-minors attestation,
and a number not seen earlier in the upload.

``LeadParser`` holds them and the per-upload state (line numbers, numbers seen, rejected lines); the format
readers (``csv_parser``, ``ndjson_parser``) turn their lines into its inputs. Checks that need the database
(duplicates against the campaign, the DND registry) run later, in the writers.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

import msgspec

from control_api.json_bodies import json_depth_exceeds
from control_api.leads.writer import StagedRow
from control_api.phones import PhoneRejection, normalise
from control_api.streaming import LineSplitter


class Reason(IntEnum):
    MALFORMED_ROW = 0
    INVALID_NUMBER = 1
    NOT_A_MOBILE = 2
    CONSENT_MISSING = 3
    DUPLICATE = 4
    DND_BLOCKED = 5
    # Malformed rows whose report says why (reported as malformed_row, with a detail).
    TOO_DEEP = 6
    NUL_CHARACTER = 7
    CONSENT_IN_FUTURE = 8


REASON_NAMES: tuple[str, ...] = (
    "malformed_row",
    "invalid_number",
    "not_a_mobile",
    "consent_missing",
    "duplicate",
    "dnd_blocked",
    "malformed_row",
    "malformed_row",
    "malformed_row",
)
_PHONE_REASON = {PhoneRejection.INVALID_NUMBER: Reason.INVALID_NUMBER, PhoneRejection.NOT_A_MOBILE: Reason.NOT_A_MOBILE}

MAX_NAME = 200
MAX_SOURCE = 200
MAX_PURPOSE = 500
MAX_METADATA_BYTES = 4096
MAX_METADATA_DEPTH = 16  # the metadata object itself is level 1
# A consent time may be this far ahead of the server's clock (the client's clock may run fast), no further.
CONSENT_CLOCK_SKEW = timedelta(minutes=5)

REASON_DETAILS: dict[int, str] = {
    Reason.TOO_DEEP: f"metadata nested deeper than {MAX_METADATA_DEPTH} levels",
    Reason.NUL_CHARACTER: "a NUL character (\\u0000), which text fields cannot hold",
    Reason.CONSENT_IN_FUTURE: "consent_at is in the future",
}
_TRUE = frozenset({"true", "yes", "y", "1"})


@dataclass(frozen=True)
class Attestation:
    """Campaign-level consent covering every row of an upload that does not carry its own."""

    source: str
    purpose: str
    at: datetime


@dataclass(frozen=True)
class UploadOptions:
    no_minors_attested: bool
    attestation: Attestation | None
    # How consent times are staged: datetime for asyncpg, text for SQLite.
    stage_time: Callable[[datetime], Any] = lambda t: t
    # The latest consent time a row may give (the upload's start plus CONSENT_CLOCK_SKEW); None: no bound.
    consent_not_after: datetime | None = None


def parse_time(raw: str) -> datetime | None:
    """ISO 8601 (``Z`` or an offset; no zone means UTC); None when unreadable."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class LeadParser:
    """The per-row rules shared by both formats."""

    def __init__(self, options: UploadOptions) -> None:
        self.options = options
        self.splitter = LineSplitter(keep_nul=True)  # a NUL is the row's problem, reported as such
        self.line_no = 0
        self.rows_seen = 0
        self._seen: set[int] = set()
        self.rejected_lines = array("q")
        self.rejected_codes = bytearray()
        self._encode = msgspec.json.Encoder().encode

    def reject(self, line: int, reason: Reason) -> None:
        self.rejected_lines.append(line)
        self.rejected_codes.append(reason)

    def feed(self, data: bytes, final: bool = False) -> list[StagedRow]:
        raise NotImplementedError

    def accept(self, line: int, checked: StagedRow | Reason) -> StagedRow | None:
        """The row, unless it was refused or repeats an earlier row's number."""
        if isinstance(checked, Reason):
            self.reject(line, checked)
            return None
        if checked[1] in self._seen:
            self.reject(line, Reason.DUPLICATE)
            return None
        self._seen.add(checked[1])
        return checked

    def _metadata_json(self, metadata: dict[str, Any]) -> str | Reason:
        try:
            encoded = self._encode(metadata)
        except RecursionError:
            return Reason.TOO_DEEP
        problem = metadata_problem(encoded)
        return encoded.decode() if problem is None else problem

    def validate(
        self,
        line: int,
        phone_raw: str,
        name: str | None,
        metadata: dict[str, Any] | None,
        c_source: str | None,
        c_at: str | None,
        c_purpose: str | None,
        no_minors: str | bool | None,
    ) -> StagedRow | Reason:
        """Every per-row check but the duplicate one, which depends on the rows before."""
        phone = normalise(phone_raw)
        if not isinstance(phone, int):
            return _PHONE_REASON[phone]
        if name is not None:
            name = name.strip() or None
            if name is not None and len(name) > MAX_NAME:
                return Reason.MALFORMED_ROW
        meta_json = self._metadata_json(metadata) if metadata else None
        if isinstance(meta_json, Reason):
            return meta_json
        staged_at: Any = None
        if c_at:
            at = parse_time(c_at)
            if at is None:
                return Reason.MALFORMED_ROW
            latest = self.options.consent_not_after
            if latest is not None and at > latest:
                return Reason.CONSENT_IN_FUTURE
            staged_at = self.options.stage_time(at)
        if (c_source and len(c_source) > MAX_SOURCE) or (c_purpose and len(c_purpose) > MAX_PURPOSE):
            return Reason.MALFORMED_ROW
        if not self.options.no_minors_attested and not _truthy(no_minors):
            return Reason.CONSENT_MISSING
        att = self.options.attestation
        if att is None and not (c_source and c_purpose and staged_at is not None):
            return Reason.CONSENT_MISSING
        return (line, phone, name, meta_json, c_source or None, staged_at, c_purpose or None)


def metadata_problem(encoded: bytes) -> Reason | None:
    """Why the JSON of a row's metadata cannot be stored; None when it is within bounds."""
    if len(encoded) > MAX_METADATA_BYTES:
        return Reason.MALFORMED_ROW
    if json_depth_exceeds(encoded, MAX_METADATA_DEPTH):  # a count of brackets unless there are many
        return Reason.TOO_DEEP
    return None


def holds_nul(value: Any) -> bool:
    """Whether a decoded JSON value holds NUL in any string, key or value, at any depth."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _truthy(value: str | bool | None) -> bool:
    if isinstance(value, bool):
        return value
    return value is not None and value.strip().lower() in _TRUE
