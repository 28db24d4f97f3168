"""The sans-I/O lead parsers, fed bytes only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from control_api.errors import InvalidField
from control_api.leads.csv_parser import CsvLeadParser
from control_api.leads.ndjson_parser import NdjsonLeadParser
from control_api.leads.parsing import make_parser
from control_api.leads.row_rules import REASON_NAMES, Attestation, LeadParser, UploadOptions

ATTESTED = UploadOptions(
    no_minors_attested=True, attestation=Attestation("web form", "solar quote", datetime(2026, 1, 1, tzinfo=UTC))
)


def run(parser: LeadParser, data: bytes, chunk: int = 7) -> tuple[list[tuple], list[tuple[int, str]]]:
    rows: list[tuple] = []
    for i in range(0, len(data), chunk):
        rows += parser.feed(data[i : i + chunk])
    rows += parser.feed(b"", final=True)
    rejected = [(ln, REASON_NAMES[c]) for ln, c in zip(parser.rejected_lines, parser.rejected_codes, strict=True)]
    return rows, rejected


def test_csv_rows_reasons_and_line_numbers_survive_any_chunking() -> None:
    data = (
        b"name,phone,city\r\n"
        b"Asha,98765 43210,Pune\r\n"
        b'"Rao, K","+91 98765 43211","multi\nline city"\r\n'
        b"\r\n"
        b"Bad,12345,X\r\n"
        b"Dup,09876543210,Y\r\n"
        b"Toll,1800 123 4567,Z\r\n"
        b"too,many,fields,here\r\n"
        b'"unclosed,9876543212,Q\r\n'
    )
    for chunk in (1, 5, 64, 10_000):
        rows, rejected = run(CsvLeadParser(ATTESTED), data, chunk)
        assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
            (2, 919876543210, "Asha", '{"city":"Pune"}'),
            (3, 919876543211, "Rao, K", '{"city":"multi\\nline city"}'),
        ]
        assert rejected == [
            (6, "invalid_number"),
            (7, "duplicate"),
            (8, "not_a_mobile"),
            (9, "malformed_row"),
            (10, "malformed_row"),
        ]


def test_csv_per_row_consent_without_attestation() -> None:
    opts = UploadOptions(no_minors_attested=False, attestation=None)
    data = (
        b"phone,name,consent_source,consent_at,consent_purpose,no_minors\n"
        b"9876543210,A,form,2026-03-01T10:00:00+05:30,quote,true\n"
        b"9876543211,B,,2026-03-01T10:00:00Z,quote,true\n"  # no source
        b"9876543212,C,form,2026-03-01,quote,no\n"  # minors not excluded
        b"9876543213,D,form,yesterday,quote,yes\n"  # unreadable time
    )
    rows, rejected = run(CsvLeadParser(opts), data)
    assert len(rows) == 1
    line, phone, name, meta, source, at, purpose = rows[0]
    assert (name, meta) == ("A", None)
    assert (line, phone, source, purpose) == (2, 919876543210, "form", "quote")
    assert at == datetime(2026, 3, 1, 4, 30, tzinfo=UTC)
    assert rejected == [(3, "consent_missing"), (4, "consent_missing"), (5, "malformed_row")]


def test_csv_without_phone_column_or_no_minors_attestation_is_refused() -> None:
    with pytest.raises(InvalidField) as exc:
        run(CsvLeadParser(ATTESTED), b"name,mobile\nA,9876543210\n")
    assert exc.value.field == "phone"
    with pytest.raises(InvalidField) as exc:
        run(CsvLeadParser(UploadOptions(no_minors_attested=False, attestation=None)), b"name,phone\nA,9876543210\n")
    assert exc.value.field == "no_minors_attested"


def test_ndjson_rows_and_malformed_lines() -> None:
    data = (
        b'{"phone": "9876543210", "name": "A", "metadata": {"city": "Pune"}, "plan": "gold"}\n'
        b"not json\n"
        b"[1, 2]\n"
        b'{"phone": 9876543211}\n'
        b'{"phone": "9876543212", "name": 5}\n'
        b'{"name": "no phone"}\n'
    )
    rows, rejected = run(NdjsonLeadParser(ATTESTED), data, chunk=3)
    assert [(r[0], r[1], r[3]) for r in rows] == [
        (1, 919876543210, '{"city":"Pune","plan":"gold"}'),
        (4, 919876543211, None),
    ]
    assert rejected == [(2, "malformed_row"), (3, "malformed_row"), (5, "malformed_row"), (6, "malformed_row")]


def test_unknown_content_type_is_415() -> None:
    with pytest.raises(InvalidField) as exc:
        make_parser("application/pdf", ATTESTED)
    assert exc.value.status == 415
    assert exc.value.field == "Content-Type"
