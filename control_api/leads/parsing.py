"""Sans-I/O lead parsers: bytes of a CSV or NDJSON upload in, rows to stage and rejected lines out.

Each parser is fed the body in batches (``feed(data)``, then ``feed(b"", final=True)``) and answers the rows that
passed the per-row checks (number, consent, no-minors attestation, duplicates within the upload). Checks that
need the database (duplicates against the campaign, the DND registry) run later, set-based, on the staged rows.
Line numbers are the file's physical lines, 1-based, header included, so a client can find the row.
"""

from __future__ import annotations

import csv
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from itertools import repeat
from operator import itemgetter
from typing import Any

import msgspec
import numpy as np

from control_api.errors import InvalidField
from control_api.leads import fast_csv
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
        meta_json: str | None = None
        if metadata:
            encoded = self._encode(metadata)
            if len(encoded) > MAX_METADATA_BYTES:
                return Reason.MALFORMED_ROW
            meta_json = encoded.decode()
        staged_at: Any = None
        if c_at:
            at = parse_time(c_at)
            if at is None:
                return Reason.MALFORMED_ROW
            staged_at = self.options.stage_time(at)
        if (c_source and len(c_source) > MAX_SOURCE) or (c_purpose and len(c_purpose) > MAX_PURPOSE):
            return Reason.MALFORMED_ROW
        if not self.options.no_minors_attested and not _truthy(no_minors):
            return Reason.CONSENT_MISSING
        att = self.options.attestation
        if att is None and not (c_source and c_purpose and staged_at is not None):
            return Reason.CONSENT_MISSING
        return (line, phone, name, meta_json, c_source or None, staged_at, c_purpose or None)


def _truthy(value: str | bool | None) -> bool:
    if isinstance(value, bool):
        return value
    return value is not None and value.strip().lower() in _TRUE


class CsvLeadParser(LeadParser):
    """CSV with a header row. ``phone`` is required; ``name``, ``consent_*`` and ``no_minors`` are known;
    every other column becomes metadata. Quoted fields may hold commas and newlines.

    Batches of plain lines (the usual export) are checked in bulk by ``fast_csv``, which hands the lines it
    cannot decide back to the per-row checks here; ``vectorised=False`` checks every row one by one."""

    def __init__(self, options: UploadOptions, vectorised: bool = True) -> None:
        super().__init__(options)
        self.vectorised = vectorised
        self._header: list[str] | None = None
        self._pending: str | None = None
        self._pending_start = 0
        self._pending_quotes = 0
        self._idx: dict[str, int] = {}
        self._extra: list[tuple[int, str]] = []
        self._layout: fast_csv.CsvLayout | None = None
        self._carry = b""  # the bytes after the last complete line

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
        self._layout = fast_csv.CsvLayout(
            n_cols=len(names),
            phone=self._idx["phone"],
            name=self._idx.get("name"),
            consent=tuple(
                self._idx[c] for c in ("consent_source", "consent_at", "consent_purpose", "no_minors") if c in self._idx
            ),
            extras=tuple((i, self._encode(key).decode()) for i, key in self._extra),
        )

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
        if not self.vectorised:
            return self._feed_rows(data, final)
        buf = self._carry + data if self._carry else data
        end = buf.rfind(b"\n") + 1
        staged: list[StagedRow] = []
        pos = 0
        while self._header is None and pos < end:  # line by line up to the header, so the rest can go in bulk
            stop = buf.index(b"\n", pos) + 1
            staged += self._feed_rows(buf[pos:stop])
            pos = stop
        if pos < end:
            body = buf[pos:end] if pos or end < len(buf) else buf
            bulk = self._feed_bulk(body) if self._pending is None else None
            staged += bulk if bulk is not None else self._feed_rows(body)
        self._carry = buf[end:]
        if final:
            staged += self._feed_rows(self._carry, final=True)
            self._carry = b""
        return staged

    def _feed_rows(self, data: bytes, final: bool = False) -> list[StagedRow]:
        staged: list[StagedRow] = []
        for line, record in self._records(self.splitter.feed(data, final), final):
            if self._header is None:
                fields = _fields(record)
                if fields is None:
                    raise InvalidField("header", "the CSV header row cannot be read")
                self._set_header(fields)
                continue
            row = self.accept(line, self._check_record(line, record))
            if row is not None:
                staged.append(row)
        if final and self._header is None:
            raise InvalidField("body", "the upload is empty: a CSV needs a header row and at least one row")
        return staged

    def _check_record(self, line: int, record: str) -> StagedRow | Reason:
        self.rows_seen += 1
        fields = _fields(record)
        if fields is None or self._header is None or len(fields) != len(self._header):
            return Reason.MALFORMED_ROW
        idx = self._idx
        meta = {key: fields[i] for i, key in self._extra if fields[i]} if self._extra else None
        i_name = idx.get("name")
        i_src = idx.get("consent_source")
        i_at = idx.get("consent_at")
        i_pur = idx.get("consent_purpose")
        i_nm = idx.get("no_minors")
        return self.validate(
            line,
            fields[idx["phone"]],
            fields[i_name] if i_name is not None else None,
            meta,
            fields[i_src].strip() if i_src is not None else None,
            fields[i_at] if i_at is not None else None,
            fields[i_pur].strip() if i_pur is not None else None,
            fields[i_nm] if i_nm is not None else None,
        )

    def _feed_bulk(self, data: bytes) -> list[StagedRow] | None:
        """Whole lines, after the header, outside any quoted field; None when the batch does not qualify."""
        layout = self._layout
        assert layout is not None
        opts = self.options
        batch = fast_csv.scan(data, layout, opts.no_minors_attested and opts.attestation is not None)
        if batch is None:
            return None
        codes, phones = batch.codes, batch.phones
        first_line = self.line_no + 1
        self.line_no += codes.size
        self.rows_seen += int(np.count_nonzero(codes < fast_csv.PER_ROW))
        per_row_rows: dict[int, StagedRow] = {}
        in_bulk = np.ones(codes.size, dtype=bool)
        for i in np.flatnonzero(codes == fast_csv.PER_ROW).tolist():
            text = data[batch.line_starts[i] : batch.line_ends[i]].decode()
            if not text or text.isspace():
                codes[i] = fast_csv.SKIPPED
                continue
            checked = self._check_record(first_line + i, text)
            if isinstance(checked, Reason):
                codes[i] = checked
            else:
                codes[i] = fast_csv.ACCEPT
                phones[i] = checked[1]
                per_row_rows[i] = checked
                in_bulk[i] = False

        # Duplicates: the first row with a number wins, in line order, across batches.
        accepted = np.flatnonzero(codes == fast_csv.ACCEPT)
        numbers = phones[accepted]
        unique, first = np.unique(numbers, return_index=True)
        keep = np.zeros(accepted.size, dtype=bool)
        keep[first] = True
        unique_list = unique.tolist()
        earlier = self._seen.intersection(unique_list)
        if earlier:
            keep &= ~np.isin(numbers, np.fromiter(earlier, dtype=np.int64, count=len(earlier)))
        self._seen.update(unique_list)
        codes[accepted[~keep]] = fast_csv.DUPLICATE

        refused = np.flatnonzero(codes <= fast_csv.DUPLICATE)
        self.rejected_lines.frombytes((refused + first_line).astype(np.int64).tobytes())
        self.rejected_codes.extend(codes[refused].astype(np.uint8).tobytes())

        kept = accepted[keep]
        bulk = kept[in_bulk[kept]]
        if layout.name is not None:
            names: Iterable[str | None] = [n.strip() or None for n in batch.texts(bulk, layout.name)]
        else:
            names = repeat(None)
        metas: Iterable[str | None] = (
            fast_csv.metadata_json(layout, [batch.texts(bulk, c) for c, _ in layout.extras])
            if layout.extras
            else repeat(None)
        )
        staged: list[StagedRow] = list(
            zip(
                (bulk + first_line).tolist(),
                phones[bulk].tolist(),
                names,
                metas,
                repeat(None),
                repeat(None),
                repeat(None),
            )
        )
        if per_row_rows:
            staged += [per_row_rows[i] for i in kept.tolist() if i in per_row_rows]
            staged.sort(key=itemgetter(0))
        return staged


def _fields(record: str) -> list[str] | None:
    if '"' not in record:
        return record.split(",")
    try:
        parsed = list(csv.reader((record,), strict=True))
    except csv.Error:
        return None
    return parsed[0] if len(parsed) == 1 else None


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
        self.rows_seen += 1
        checked = self.validate(
            line,
            phone,  # type: ignore[arg-type]
            name,
            metadata,
            c_source.strip() if c_source else None,
            c_at,
            c_purpose.strip() if c_purpose else None,
            no_minors,
        )
        return self.accept(line, checked)


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
