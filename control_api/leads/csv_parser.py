"""Reading a CSV lead upload: the header, records (quoted fields may span lines), and the bulk path for batches
of plain lines (``fast_csv``)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from itertools import repeat
from operator import itemgetter

import numpy as np

from control_api.errors import InvalidField
from control_api.leads import fast_csv
from control_api.leads.row_rules import LeadParser, Reason, UploadOptions
from control_api.leads.writer import StagedRow

KNOWN_COLUMNS = frozenset({"name", "phone", "consent_source", "consent_at", "consent_purpose", "no_minors"})


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
        if "\x00" in record:
            return Reason.NUL_CHARACTER
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

        refused = np.flatnonzero(codes < fast_csv.ACCEPT)  # every Reason, the per-row ones included
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
