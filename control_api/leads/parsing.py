"""Sans-I/O lead parsers: bytes of a CSV or NDJSON upload in, rows to stage and rejected lines out.

Each parser is fed the body in batches (``feed(data)``, then ``feed(b"", final=True)``) and answers the rows that
passed the per-row checks (number, consent, no-minors attestation, duplicates within the upload). Checks that
need the database (duplicates against the campaign, the DND registry) run later, set-based, on the staged rows.
Line numbers are the file's physical lines, 1-based, header included, so a client can find the row.
"""

from __future__ import annotations

import csv
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

import msgspec

from control_api.errors import InvalidField
from control_api.phones import PhoneRejection, normalise
from control_api.streaming import LineSplitter


class Reason(IntEnum):
    MALFORMED_ROW = 0
    INVALID_NUMBER = 1
    NOT_A_MOBILE = 2
    CONSENT_MISSING = 3
    DUPLICATE = 4
    DND_BLOCKED = 5


REASON_NAMES: tuple[str, ...] = (
    "malformed_row",
    "invalid_number",
    "not_a_mobile",
    "consent_missing",
    "duplicate",
    "dnd_blocked",
)
REASON_BY_NAME = {name: Reason(i) for i, name in enumerate(REASON_NAMES)}
_PHONE_REASON = {PhoneRejection.INVALID_NUMBER: Reason.INVALID_NUMBER, PhoneRejection.NOT_A_MOBILE: Reason.NOT_A_MOBILE}

KNOWN_COLUMNS = frozenset({"name", "phone", "consent_source", "consent_at", "consent_purpose", "no_minors"})
MAX_NAME = 200
MAX_SOURCE = 200
MAX_PURPOSE = 500
MAX_METADATA_BYTES = 4096
_TRUE = frozenset({"true", "yes", "y", "1"})

# line, phone (E.164 digits), name, metadata JSON, consent source, consent time, consent purpose; consent fields
# are None when the campaign-level attestation covers the row.
StagedRow = tuple[int, int, str | None, str | None, str | None, Any, str | None]


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
        self.splitter = LineSplitter()
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

    def check_row(
        self,
        line: int,
        phone_raw: str,
        name: str | None,
        metadata: dict[str, Any] | None,
        c_source: str | None,
        c_at: str | None,
        c_purpose: str | None,
        no_minors: str | bool | None,
    ) -> StagedRow | None:
        self.rows_seen += 1
        phone = normalise(phone_raw)
        if not isinstance(phone, int):
            self.reject(line, _PHONE_REASON[phone])
            return None
        if name is not None:
            name = name.strip() or None
            if name is not None and len(name) > MAX_NAME:
                self.reject(line, Reason.MALFORMED_ROW)
                return None
        meta_json: str | None = None
        if metadata:
            encoded = self._encode(metadata)
            if len(encoded) > MAX_METADATA_BYTES:
                self.reject(line, Reason.MALFORMED_ROW)
                return None
            meta_json = encoded.decode()
        staged_at: Any = None
        if c_at:
            at = parse_time(c_at)
            if at is None:
                self.reject(line, Reason.MALFORMED_ROW)
                return None
            staged_at = self.options.stage_time(at)
        if (c_source and len(c_source) > MAX_SOURCE) or (c_purpose and len(c_purpose) > MAX_PURPOSE):
            self.reject(line, Reason.MALFORMED_ROW)
            return None
        if not self.options.no_minors_attested and not _truthy(no_minors):
            self.reject(line, Reason.CONSENT_MISSING)
            return None
        att = self.options.attestation
        if att is None and not (c_source and c_purpose and staged_at is not None):
            self.reject(line, Reason.CONSENT_MISSING)
            return None
        if phone in self._seen:
            self.reject(line, Reason.DUPLICATE)
            return None
        self._seen.add(phone)
        return (line, phone, name, meta_json, c_source or None, staged_at, c_purpose or None)


def _truthy(value: str | bool | None) -> bool:
    if isinstance(value, bool):
        return value
    return value is not None and value.strip().lower() in _TRUE


class CsvLeadParser(LeadParser):
    """CSV with a header row. ``phone`` is required; ``name``, ``consent_*`` and ``no_minors`` are known;
    every other column becomes metadata. Quoted fields may hold commas and newlines."""

    def __init__(self, options: UploadOptions) -> None:
        super().__init__(options)
        self._header: list[str] | None = None
        self._pending: str | None = None
        self._pending_start = 0
        self._pending_quotes = 0
        self._idx: dict[str, int] = {}
        self._extra: list[tuple[int, str]] = []

    def _set_header(self, fields: list[str]) -> None:
        names = [f.strip() for f in fields]
        lowered = [n.lower() for n in names]
        if "phone" not in lowered:
            raise InvalidField("phone", "the CSV header must have a 'phone' column")
        if len(set(lowered)) != len(lowered) or "" in lowered:
            raise InvalidField("header", "the CSV header has an empty or repeated column name")
        if not self.options.no_minors_attested and "no_minors" not in lowered:
            raise InvalidField(
                "no_minors_attested",
                "attest that the list holds no minors: no_minors_attested=true, or a no_minors column",
            )
        self._header = names
        self._idx = {n: i for i, n in enumerate(lowered) if n in KNOWN_COLUMNS}
        self._extra = [(i, names[i]) for i, n in enumerate(lowered) if n not in KNOWN_COLUMNS]

    def _records(self, lines: list[str], final: bool) -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        ln = self.line_no
        pending = self._pending
        for line in lines:
            ln += 1
            if pending is not None:
                pending += "\n" + line
                self._pending_quotes += line.count('"')
                if not self._pending_quotes & 1:
                    out.append((self._pending_start, pending))
                    pending = None
                continue
            if not line or line.isspace():
                continue
            quotes = line.count('"')
            if quotes & 1:  # a quoted field runs on to the next line
                pending = line
                self._pending_start = ln
                self._pending_quotes = quotes
                continue
            out.append((ln, line))
        if final and pending is not None:
            out.append((self._pending_start, pending))
            pending = None
        self._pending = pending
        self.line_no = ln
        return out

    def feed(self, data: bytes, final: bool = False) -> list[StagedRow]:
        staged: list[StagedRow] = []
        records = self._records(self.splitter.feed(data, final), final)
        idx = self._idx
        for line, record in records:
            if '"' in record:
                try:
                    parsed = list(csv.reader((record,), strict=True))
                except csv.Error:
                    parsed = []
                if len(parsed) != 1:
                    if self._header is None:
                        raise InvalidField("header", "the CSV header row cannot be read")
                    self.rows_seen += 1
                    self.reject(line, Reason.MALFORMED_ROW)
                    continue
                fields = parsed[0]
            else:
                fields = record.split(",")
            if self._header is None:
                self._set_header(fields)
                idx = self._idx
                continue
            if len(fields) != len(self._header):
                self.rows_seen += 1
                self.reject(line, Reason.MALFORMED_ROW)
                continue
            meta = {key: fields[i] for i, key in self._extra if fields[i]} if self._extra else None
            i_name = idx.get("name")
            i_src = idx.get("consent_source")
            i_at = idx.get("consent_at")
            i_pur = idx.get("consent_purpose")
            i_nm = idx.get("no_minors")
            row = self.check_row(
                line,
                fields[idx["phone"]],
                fields[i_name] if i_name is not None else None,
                meta,
                fields[i_src].strip() if i_src is not None else None,
                fields[i_at] if i_at is not None else None,
                fields[i_pur].strip() if i_pur is not None else None,
                fields[i_nm] if i_nm is not None else None,
            )
            if row is not None:
                staged.append(row)
        if final and self._header is None:
            raise InvalidField("body", "the upload is empty: a CSV needs a header row and at least one row")
        return staged


class NdjsonLeadParser(LeadParser):
    """One JSON object per line: ``phone`` (string), optional ``name``, ``consent_source``, ``consent_at``,
    ``consent_purpose``, ``no_minors`` and ``metadata`` (object); other keys are merged into the metadata."""

    def __init__(self, options: UploadOptions) -> None:
        super().__init__(options)
        self._decode = msgspec.json.Decoder().decode

    def feed(self, data: bytes, final: bool = False) -> list[StagedRow]:
        staged: list[StagedRow] = []
        ln = self.line_no
        for text in self.splitter.feed(data, final):
            ln += 1
            if not text or text.isspace():
                continue
            row = self._row(ln, text)
            if row is not None:
                staged.append(row)
        self.line_no = ln
        return staged

    def _row(self, line: int, text: str) -> StagedRow | None:
        try:
            obj = self._decode(text)
        except msgspec.DecodeError:
            obj = None
        if not isinstance(obj, dict):
            self.rows_seen += 1
            self.reject(line, Reason.MALFORMED_ROW)
            return None
        phone = obj.pop("phone", None)
        if isinstance(phone, int) and not isinstance(phone, bool):
            phone = str(phone)
        name = obj.pop("name", None)
        metadata = obj.pop("metadata", None)
        fields = [obj.pop(k, None) for k in ("consent_source", "consent_at", "consent_purpose")]
        no_minors = obj.pop("no_minors", None)
        ok = (
            isinstance(phone, str)
            and (name is None or isinstance(name, str))
            and (metadata is None or isinstance(metadata, dict))
            and all(f is None or isinstance(f, str) for f in fields)
            and (no_minors is None or isinstance(no_minors, bool | str))
        )
        if not ok:
            self.rows_seen += 1
            self.reject(line, Reason.MALFORMED_ROW)
            return None
        if obj:
            metadata = {**(metadata or {}), **obj}
        c_source, c_at, c_purpose = fields
        return self.check_row(
            line,
            phone,  # type: ignore[arg-type]
            name,
            metadata,
            c_source.strip() if c_source else None,
            c_at,
            c_purpose.strip() if c_purpose else None,
            no_minors,
        )


def make_parser(content_type: str, options: UploadOptions) -> LeadParser:
    kind = content_type.split(";")[0].strip().lower()
    if kind in ("text/csv", "application/csv"):
        return CsvLeadParser(options)
    if kind in ("application/x-ndjson", "application/jsonl", "application/json-lines", "application/ndjson"):
        return NdjsonLeadParser(options)
    raise UnsupportedUpload(content_type)


class UnsupportedUpload(InvalidField):
    def __init__(self, content_type: str) -> None:
        super().__init__(
            "Content-Type", f"unsupported upload type {content_type!r}: send text/csv or application/x-ndjson"
        )
        self.status = 415
        self.title = "Unsupported media type"
