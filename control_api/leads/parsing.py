"""Sans-I/O lead parsers: bytes of a CSV or NDJSON upload in, rows to stage and rejected lines out.

Each parser is fed the body in batches (``feed(data)``, then ``feed(b"", final=True)``) and answers the rows that
passed the per-row checks (``row_rules``). Checks that need the database (duplicates against the campaign, the DND
registry) run later, set-based, on the staged rows. Line numbers are the file's physical lines, 1-based, header
included, so a client can find the row. ``make_parser`` picks the reader for the upload's Content-Type.
"""

from __future__ import annotations

from control_api.errors import InvalidField
from control_api.leads.csv_parser import CsvLeadParser
from control_api.leads.ndjson_parser import NdjsonLeadParser
from control_api.leads.row_rules import LeadParser, UploadOptions


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
