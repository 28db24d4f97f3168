"""Sans-I/O parser of a registry import file: ``phone,preference[,time_bands]`` per line, header optional.

``preference`` is ``0`` (or ``blocked``) for fully blocked, else the accepted categories 1-8 separated by ``|``,
``;`` or spaces (``1|5|7``). ``time_bands`` is optional: ``HH:MM-HH:MM`` bands separated by ``|`` or ``;``.
"""

from __future__ import annotations

import csv
from array import array

from control_api.dnd.preferences import parse_band
from control_api.phones import parse_any
from control_api.streaming import LineSplitter

RegistryRow = tuple[int, int, bool, int, list[dict[str, str]] | None]
_SEPARATORS = str.maketrans({";": "|", " ": "|"})
_BLOCKED = frozenset({"0", "blocked", "full", "fully_blocked"})
# Cache of preference text -> (blocked_all, mask): a real registry repeats a handful of distinct preferences.
_PREF_CACHE: dict[str, tuple[bool, int] | None] = {}


def parse_preference(text: str) -> tuple[bool, int] | None:
    if text in _PREF_CACHE:
        return _PREF_CACHE[text]
    value: tuple[bool, int] | None
    t = text.strip().lower()
    if t in _BLOCKED:
        value = (True, 0)
    else:
        mask = 0
        value = None
        parts = [p for p in t.translate(_SEPARATORS).split("|") if p]
        if parts and all(p.isdigit() and 1 <= int(p) <= 8 for p in parts):
            for p in parts:
                mask |= 1 << (int(p) - 1)
            value = (False, mask)
    if len(_PREF_CACHE) < 4096:
        _PREF_CACHE[text] = value
    return value


class RegistryFileParser:
    def __init__(self) -> None:
        self.splitter = LineSplitter()
        self.line_no = 0
        self.rows_seen = 0
        self.rejected_lines = array("q")  # malformed rows
        self.invalid_lines = array("q")  # numbers that are not valid numbers

    def feed(self, data: bytes, final: bool = False) -> list[RegistryRow]:
        out: list[RegistryRow] = []
        ln = self.line_no
        for line in self.splitter.feed(data, final):
            ln += 1
            if not line or line.isspace():
                continue
            fields = next(csv.reader((line,))) if '"' in line else line.split(",")
            if ln == 1 and fields and fields[0].strip().lower() in ("phone", "number", "msisdn"):
                continue  # header
            self.rows_seen += 1
            if len(fields) not in (2, 3):
                self.rejected_lines.append(ln)
                continue
            phone = parse_any(fields[0])
            if phone is None:
                self.invalid_lines.append(ln)
                continue
            pref = parse_preference(fields[1])
            if pref is None:
                self.rejected_lines.append(ln)
                continue
            bands: list[dict[str, str]] | None = None
            if len(fields) == 3 and fields[2].strip():
                try:
                    bands = [parse_band(b) for b in fields[2].replace(";", "|").split("|") if b.strip()]
                except ValueError:
                    self.rejected_lines.append(ln)
                    continue
            out.append((ln, phone, pref[0], pref[1], bands or None))
        self.line_no = ln
        return out
