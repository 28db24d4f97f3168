"""Reading an NDJSON lead upload: one JSON object per line."""

from __future__ import annotations

import msgspec

from control_api.leads.row_rules import LeadParser, Reason, UploadOptions, holds_nul
from control_api.leads.writer import StagedRow


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
        if "\x00" in text:
            self.rows_seen += 1
            self.reject(line, Reason.NUL_CHARACTER)
            return None
        try:
            obj = self._decode(text)
        except msgspec.DecodeError:
            obj = None
        except RecursionError:  # nested deeper than the decoder goes: the row's problem, not the upload's
            self.rows_seen += 1
            self.reject(line, Reason.TOO_DEEP)
            return None
        if not isinstance(obj, dict):
            self.rows_seen += 1
            self.reject(line, Reason.MALFORMED_ROW)
            return None
        # An escaped NUL decodes to text no PostgreSQL column can hold. The substring test is the per-row cost; the
        # walk runs only on the rare line that has it.
        if "\\u0000" in text and holds_nul(obj):
            self.rows_seen += 1
            self.reject(line, Reason.NUL_CHARACTER)
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
