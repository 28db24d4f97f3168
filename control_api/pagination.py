"""One pagination shape for every list: ``?limit=&cursor=`` in, ``{items, next_cursor}`` out.

The cursor is opaque to clients; inside it is either an offset (small lists) or the last id seen (leads, which
can be millions, use keyset pagination so deep pages cost the same as the first).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Generic, TypeVar

from control_api.errors import InvalidField

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_CURSOR = 1 << 62  # offsets and ids are BIGINT in the database


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidField("limit", f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = int(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeError) as exc:
        raise InvalidField("cursor", "cursor is not one this API returned") from exc
    if not 0 <= value < MAX_CURSOR:
        raise InvalidField("cursor", "cursor is not one this API returned")
    return value
