"""A CSV batch checked in bulk with numpy: the common rows decided at once, the rest left to the per-row parser.

A batch qualifies when it is whole lines of valid UTF-8 with no quote character: then every physical line is one
record and splitting on commas is exact. Inside such a batch, a line is decided here when it has the header's
number of fields, no control character (NUL included) or backslash (so JSON and strip rules stay trivial), empty
per-row consent columns, and a phone field ``fast_phones`` can read; every other line (blank, wrong field count,
odd number, long name, per-row consent) is left to ``CsvLeadParser``'s per-row checks, which are the reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from control_api.leads import fast_phones
from control_api.leads.row_rules import MAX_METADATA_BYTES

# Per-line outcome codes; 0-3 are the parser's Reason values.
MALFORMED: Final = 0
INVALID_NUMBER: Final = 1
NOT_A_MOBILE: Final = 2
CONSENT_MISSING: Final = 3
DUPLICATE: Final = 4
ACCEPT: Final = 100
PER_ROW: Final = 101  # left to the per-row parser
SKIPPED: Final = 102  # blank line, or a row the per-row parser already counted

MAX_NAME_BYTES = 200  # a longer UTF-8 name may still be <= 200 characters: the per-row parser measures it


@dataclass(frozen=True)
class CsvLayout:
    """Where the columns are, from the header."""

    n_cols: int
    phone: int
    name: int | None
    consent: tuple[int, ...]  # consent_source, consent_at, consent_purpose, no_minors: decided here only when empty
    extras: tuple[tuple[int, str], ...]  # metadata columns: (index, JSON-encoded key)


@dataclass
class ScannedBatch:
    buf: npt.NDArray[np.uint8]
    line_starts: npt.NDArray[np.int64]
    line_ends: npt.NDArray[np.int64]  # exclusive, before any trailing CR
    codes: npt.NDArray[np.int16]  # per line
    phones: npt.NDArray[np.int64]  # per line, E.164 digits where ACCEPT
    field_starts: npt.NDArray[np.int64]  # (lines, columns), valid on lines the scan decided
    field_ends: npt.NDArray[np.int64]

    def texts(self, lines: npt.NDArray[np.int64], column: int) -> list[str]:
        """The decoded field ``column`` of each of ``lines``."""
        return gather(self.buf, self.field_starts[lines, column], self.field_ends[lines, column])


def gather(buf: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]) -> list[str]:
    """Slices of ``buf`` as strings: copied into one newline-separated buffer, decoded and split once, which is
    far cheaper than one decode per field."""
    n = starts.size
    if n == 0:
        return []
    sizes = ends - starts + 1
    offsets = np.cumsum(sizes) - sizes
    total = int(sizes.sum())
    src = np.repeat(starts - offsets, sizes) + np.arange(total)
    out = buf[src]
    out[offsets + sizes - 1] = 10
    return out[:-1].tobytes().decode("utf-8").split("\n")


def scan(data: bytes, layout: CsvLayout, consent_ok_without_columns: bool) -> ScannedBatch | None:
    """Decide what can be decided in bulk; None when the batch does not qualify (see the module docstring).

    ``consent_ok_without_columns``: the upload attests no minors and carries a campaign-level attestation, so a
    row with empty consent columns passes the consent checks."""
    if layout.n_cols < 2 or not data.endswith(b"\n") or b'"' in data:
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    n = newlines.size
    starts = np.empty(n, dtype=np.int64)
    starts[0] = 0
    starts[1:] = newlines[:-1] + 1
    ends = newlines.copy()
    decidable = np.ones(n, dtype=bool)

    crs = np.flatnonzero(buf == 13)
    if crs.size:
        ends -= (buf[newlines - 1] == 13) & (newlines > starts)
        cr_line = np.searchsorted(newlines, crs)
        decidable[cr_line[crs != ends[cr_line]]] = False  # a CR inside a line
    odd = np.flatnonzero(((buf < 32) & (buf != 10) & (buf != 13)) | (buf == 92))
    if odd.size:
        decidable[np.searchsorted(newlines, odd)] = False

    commas = np.flatnonzero(buf == 44)
    first_comma = np.searchsorted(commas, starts)
    k = layout.n_cols - 1
    decidable &= np.searchsorted(commas, newlines) - first_comma == k

    lines = np.flatnonzero(decidable)
    fc = first_comma[lines]
    field_starts = np.empty((n, layout.n_cols), dtype=np.int64)
    field_ends = np.empty((n, layout.n_cols), dtype=np.int64)
    field_starts[lines, 0] = starts[lines]
    for j in range(k):
        at = commas[fc + j]
        field_ends[lines, j] = at
        field_starts[lines, j + 1] = at + 1
    field_ends[lines, k] = ends[lines]

    codes = np.full(n, PER_ROW, dtype=np.int16)
    phones = np.zeros(n, dtype=np.int64)
    verdict, phone = fast_phones.classify(buf, field_starts[lines, layout.phone], field_ends[lines, layout.phone])
    out = np.full(lines.size, PER_ROW, dtype=np.int16)
    out[verdict == fast_phones.INVALID] = INVALID_NUMBER
    out[verdict == fast_phones.NOT_MOBILE] = NOT_A_MOBILE
    mobile = verdict == fast_phones.MOBILE

    # Checks after the number, in the per-row parser's order.
    per_row = np.zeros(lines.size, dtype=bool)
    if layout.name is not None:
        per_row |= field_ends[lines, layout.name] - field_starts[lines, layout.name] > MAX_NAME_BYTES
    for c in layout.consent:
        per_row |= field_ends[lines, c] > field_starts[lines, c]
    meta_bytes = np.zeros(lines.size, dtype=np.int64)
    n_meta = np.zeros(lines.size, dtype=np.int64)
    for c, key in layout.extras:
        size = field_ends[lines, c] - field_starts[lines, c]
        present = size > 0
        meta_bytes += np.where(present, len(key.encode()) + 3 + size, 0)  # "key":"value"
        n_meta += present
    meta_bytes += n_meta + 1  # braces and the commas between members
    too_long = (n_meta > 0) & (meta_bytes > MAX_METADATA_BYTES)
    decided = mobile & ~per_row
    out[decided & too_long] = MALFORMED
    rest = decided & ~too_long
    out[rest] = ACCEPT if consent_ok_without_columns else CONSENT_MISSING

    codes[lines] = out
    phones[lines] = np.where(out == ACCEPT, phone, 0)
    return ScannedBatch(buf, starts, ends, codes, phones, field_starts, field_ends)


def metadata_json(layout: CsvLayout, columns: list[list[str]]) -> list[str | None]:
    """The metadata JSON of each row, as msgspec writes it (members in column order, empty values left out); the
    scan guarantees the values need no escaping."""
    if len(columns) == 1:
        head = "{" + layout.extras[0][1] + ':"'
        return [head + v + '"}' if v else None for v in columns[0]]
    keys = [key for _, key in layout.extras]
    out: list[str | None] = []
    for values in zip(*columns, strict=True):
        members = [f'{k}:"{v}"' for k, v in zip(keys, values, strict=True) if v]
        out.append("{" + ",".join(members) + "}" if members else None)
    return out
