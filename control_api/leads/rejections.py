"""The rejected rows of an upload: spooled to a temporary file as the parser finds them, then written out as the
upload's rejection report (CSV: ``line,reason,detail``) under the data directory, while the API answer carries only
the first ``INLINE_LIMIT`` of them. Memory stays bounded whatever the number of bad rows; the counts by reason stay
exact. The report holds line numbers and reasons only, no personal data.
"""

from __future__ import annotations

import csv
import heapq
import tempfile
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

from control_api.leads.row_rules import REASON_DETAILS, REASON_NAMES, LeadParser
from control_api.leads.schemas import RejectedRow

INLINE_LIMIT = 1000
REPORT_DIR = "upload-rejections"  # under the data directory
_CHUNK = 65_536  # rows read back from the spool at a time


def report_path(data_dir: Path, upload_id: str) -> Path:
    return data_dir / REPORT_DIR / f"{upload_id}.csv"


class RejectionSpool:
    """The parser's rejected (line, reason code) pairs, moved out of its arrays after every batch."""

    def __init__(self) -> None:
        # Open for the whole upload, closed (and so deleted) by ``close``.
        self._lines = tempfile.TemporaryFile()  # noqa: SIM115
        self._codes = tempfile.TemporaryFile()  # noqa: SIM115

    def take(self, parser: LeadParser) -> None:
        if parser.rejected_codes:
            self._lines.write(parser.rejected_lines.tobytes())
            self._codes.write(parser.rejected_codes)
            del parser.rejected_lines[:]
            parser.rejected_codes.clear()

    def __iter__(self) -> Iterator[tuple[int, int]]:
        self._lines.seek(0)
        self._codes.seek(0)
        while True:
            codes = self._codes.read(_CHUNK)
            if not codes:
                return
            lines = array("q")
            lines.frombytes(self._lines.read(len(codes) * lines.itemsize))
            yield from zip(lines, codes, strict=True)

    def close(self) -> None:
        self._lines.close()
        self._codes.close()


@dataclass(frozen=True)
class RejectionSummary:
    inline: list[RejectedRow]  # the first INLINE_LIMIT, in line order
    by_reason: dict[str, int]
    total: int


def write_report(spool: RejectionSpool, db_rejected: Iterable[tuple[int, str]], path: Path) -> RejectionSummary:
    """Merge the parser's rejections with the writer's (both in line order) into the report file at ``path``."""
    parsed = ((line, REASON_NAMES[code], REASON_DETAILS.get(code)) for line, code in spool)
    from_db = ((line, reason, None) for line, reason in db_rejected)
    counts: Counter[str] = Counter()
    inline: list[RejectedRow] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("line", "reason", "detail"))
        for line, reason, detail in heapq.merge(parsed, from_db, key=itemgetter(0)):
            counts[reason] += 1
            if len(inline) < INLINE_LIMIT:
                inline.append(RejectedRow(line=line, reason=reason, detail=detail))
            writer.writerow((line, reason, detail or ""))
    return RejectionSummary(inline=inline, by_reason=dict(counts), total=sum(counts.values()))
