"""Result rows as CSV or NDJSON text.

CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) are prefixed with an apostrophe, as OWASP advises against CSV injection: a lead's name or a slot answer is
text the lead or the uploader chose, and opening the export must never execute it. NDJSON is data, not a
spreadsheet: its values are exact.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from control_api.phones import to_e164
from control_api.results.repository import ResultRow

COLUMNS = (
    "lead_id",
    "name",
    "phone",
    "status",
    "attempts",
    "next_attempt_at",
    "call_id",
    "disposition",
    "outcome",
    "slots",
    "callback_at",
    "duration_s",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def as_dict(row: ResultRow) -> dict[str, Any]:
    return {
        "lead_id": row.lead_id,
        "name": row.name,
        "phone": to_e164(row.phone),
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
        "call_id": row.call_id,
        "disposition": row.disposition,
        "outcome": row.outcome,
        "slots": row.slots,
        "callback_at": row.callback_at,
        "duration_s": row.duration_s,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return neutralise(str(value))


def csv_header() -> str:
    return ",".join(COLUMNS) + "\r\n"


def csv_lines(rows: Iterable[ResultRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        values = as_dict(row)
        writer.writerow([_cell(values[column]) for column in COLUMNS])
    return out.getvalue()


def ndjson_lines(rows: Iterable[ResultRow]) -> str:
    return "".join(json.dumps(as_dict(row), ensure_ascii=False) + "\n" for row in rows)
