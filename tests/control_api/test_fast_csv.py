"""The bulk CSV path (``fast_csv``) against the per-row parser: same staged rows, same rejected lines."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from control_api.errors import InvalidField
from control_api.leads.csv_parser import CsvLeadParser
from control_api.leads.row_rules import Attestation, UploadOptions

ATTESTATION = Attestation("web form", "solar quote", datetime(2026, 1, 1, tzinfo=UTC))

NATIONAL = st.integers(6_000_000_000, 9_999_999_999).map(str)
PHONE_FORMS = st.sampled_from(
    [
        "{n}",
        "0{n}",
        "91{n}",
        "+91{n}",
        "+91 {a} {b}",
        "+91-{a}-{b}",
        "0091 {n}",
        "0091{n}",
        " {n} ",
        "({a}) {b}",
        "{a}.{b}",
        "{a}\t{b}",
        "+ 91 {n}",
        "9{n}",
        "+9{n}",
        "{n}+",
        "-+91{n}",
        "91-{a}{b}",
    ]
)
ODD_PHONES = st.sampled_from(
    [
        "",
        " ",
        "abc",
        "98765",
        "987654321",
        "5876543210",
        "1800 123 4567",
        "020 2612 3456",
        "+91 20 2612 3456",
        "+1 415 555 2671",
        "+44 20 7946 0958",
        "0044 20 7946 0958",
        "+91 98765 43210 ext 5",
        "९८७६५४३२१०",
        "98765\u00a043210",
        "+919876543210999",
        "00000000000000",
    ]
)
TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\x00", exclude_categories=("Cs",)),
    max_size=12,
)
NAMES = st.one_of(
    st.sampled_from(["", " ", "Asha", " Rao K ", "अनिल", "\u00a0Ravi\u00a0", "x" * 201, "é" * 150, " " + "y" * 200]),
    TEXT,
)
VALUES = st.one_of(st.sampled_from(["", "Pune", "मुंबई", "a\\b", "tab\there", " spaced ", "z" * 5000, "é" * 2100]), TEXT)
CONSENT_AT = st.sampled_from(["", "2026-03-01T10:00:00Z", "2026-03-01", "yesterday", " ", "2026-03-01T10:00:00+05:30"])
NO_MINORS = st.sampled_from(["", "true", "yes", "no", " Y ", "0"])
SOURCES = st.sampled_from(["", "form", " web ", "s" * 201])


@st.composite
def phones(draw: st.DrawFn, used: list[str]) -> str:
    kind = draw(st.integers(0, 9))
    if kind == 0 and used:
        return draw(st.sampled_from(used))
    if kind == 1:
        return draw(ODD_PHONES)
    n = draw(NATIONAL)
    phone = draw(PHONE_FORMS).format(n=n, a=n[:5], b=n[5:])
    used.append(phone)
    return phone


@st.composite
def uploads(draw: st.DrawFn) -> tuple[bytes, UploadOptions, list[int]]:
    extras = draw(st.lists(st.sampled_from(["city", "Notes", "शहर", "a b", "ref"]), max_size=3, unique=True))
    columns = ["phone", *extras]
    if draw(st.booleans()):
        columns.append("name")
    consent_cols = draw(
        st.lists(st.sampled_from(["consent_source", "consent_at", "consent_purpose", "no_minors"]), unique=True)
    )
    columns += consent_cols
    columns = draw(st.permutations(columns))
    attested = draw(st.booleans())
    attestation = draw(st.sampled_from([ATTESTATION, None]))
    crlf = draw(st.booleans())
    used: list[str] = []
    lines = [",".join(columns)]
    for _ in range(draw(st.integers(0, 40))):
        shape = draw(st.integers(0, 19))
        if shape == 0:
            lines.append(draw(st.sampled_from(["", " ", "\t"])))
            continue
        fields: list[str] = []
        for c in columns:
            if c == "phone":
                fields.append(draw(phones(used)))
            elif c == "name":
                fields.append(draw(NAMES))
            elif c == "consent_at":
                fields.append(draw(CONSENT_AT) if draw(st.integers(0, 3)) == 0 else "")
            elif c == "no_minors":
                fields.append(draw(NO_MINORS) if draw(st.integers(0, 3)) == 0 else "")
            elif c in ("consent_source", "consent_purpose"):
                fields.append(draw(SOURCES) if draw(st.integers(0, 3)) == 0 else "")
            else:
                fields.append(draw(VALUES))
        # A comma in a value shifts the fields: a wrong column count, as in a real broken file.
        if shape == 1:
            fields.append("extra")
        elif shape == 2 and len(fields) > 1:
            fields.pop()
        elif shape == 3:
            i = draw(st.integers(0, len(fields) - 1))
            fields[i] = '"' + fields[i].replace('"', '""') + ', quoted"'
        elif shape == 4:
            fields[0] = '"' + fields[0]  # an unclosed quote runs on over the next lines
        lines.append(",".join(fields))
    text = ("\r\n" if crlf else "\n").join(lines)
    if draw(st.booleans()):
        text += "\r\n" if crlf else "\n"
    data = text.encode()
    if draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 9)) == 0 and len(data) > 10:  # an undecodable byte
        i = draw(st.integers(1, len(data) - 1))
        data = data[:i] + b"\xff" + data[i:]
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=4)))
    options = UploadOptions(no_minors_attested=attested, attestation=attestation)
    return data, options, cuts


def run(data: bytes, options: UploadOptions, cuts: list[int], vectorised: bool) -> Any:
    parser = CsvLeadParser(options, vectorised=vectorised)
    rows: list[tuple[Any, ...]] = []
    try:
        start = 0
        for cut in [*cuts, len(data)]:
            rows += parser.feed(data[start:cut])
            start = cut
        rows += parser.feed(b"", final=True)
    except InvalidField as exc:
        return ("refused", exc.detail)
    return rows, list(zip(parser.rejected_lines, parser.rejected_codes, strict=True)), parser.rows_seen


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(uploads())
def test_bulk_path_matches_the_per_row_parser(upload: tuple[bytes, UploadOptions, list[int]]) -> None:
    data, options, cuts = upload
    assert run(data, options, cuts, vectorised=True) == run(data, options, cuts, vectorised=False)


def test_plain_rows_are_decided_in_bulk(monkeypatch: Any) -> None:
    per_row: list[int] = []
    original = CsvLeadParser._check_record

    def counting(self: CsvLeadParser, line: int, record: str) -> Any:
        per_row.append(line)
        return original(self, line, record)

    monkeypatch.setattr(CsvLeadParser, "_check_record", counting)
    data = (
        "name,phone,city\n"
        "Asha,9876543210,Pune\n"
        "Ravi,+91 98765 43211,\n"
        "Dup,09876543210,X\n"
        "Short,98765,Y\n"  # not a common form: the per-row parser decides
        "Land,020 2612 3456,Z\n"
        "\n"
        "Sam,919876543212,मुंबई\n"
    ).encode()
    parser = CsvLeadParser(UploadOptions(no_minors_attested=True, attestation=ATTESTATION))
    rows = parser.feed(data) + parser.feed(b"", final=True)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (2, 919876543210, "Asha", '{"city":"Pune"}'),
        (3, 919876543211, "Ravi", None),
        (8, 919876543212, "Sam", '{"city":"मुंबई"}'),
    ]
    assert list(zip(parser.rejected_lines, parser.rejected_codes, strict=True)) == [(4, 4), (5, 1), (6, 2)]
    assert per_row == [5, 6]
    assert parser.rows_seen == 6
