"""HTTP byte ranges (RFC 9110 §14) for files the API serves, so an audio player can seek without downloading all.

One range per request: a player asks for one. A header this module cannot use (several ranges, another unit, bad
syntax) is ignored and the whole file is sent, as the RFC allows; a range that starts past the end is a 416.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from control_api.errors import ApiError

_SINGLE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"


class RangeNotSatisfiable(ApiError):
    def __init__(self, size: int) -> None:
        super().__init__(
            416,
            "Range not satisfiable",
            f"the requested range is outside the file's {size} bytes",
            field="Range",
            slug="range-not-satisfiable",
            headers={"Content-Range": f"bytes */{size}"},
        )


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range ``header`` asks for within ``size`` bytes; None: send the whole file."""
    if not header:
        return None
    m = _SINGLE.match(header)
    if m is None or not (m.group(1) or m.group(2)):
        return None
    first, last = m.group(1), m.group(2)
    if not first:  # "bytes=-N": the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return ByteRange(max(0, size - suffix), size - 1, size)
    start = int(first)
    if last and int(last) < start:
        return None  # not a valid range: ignored
    if start >= size:
        raise RangeNotSatisfiable(size)
    end = int(last) if last else size - 1
    return ByteRange(start, min(end, size - 1), size)


def read_range(path: Path, byte_range: ByteRange) -> bytes:
    """The range's bytes (blocking: call it in a thread)."""
    with path.open("rb") as fh:
        fh.seek(byte_range.start)
        return fh.read(byte_range.length)
