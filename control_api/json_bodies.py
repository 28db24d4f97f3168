"""JSON request bodies with a nesting bound.

msgspec (and so Litestar) decodes JSON recursively: a body of a hundred thousand ``[`` ends in a RecursionError,
which would surface as a 500. ``BoundedRequest`` measures the nesting first and answers a 400 problem detail
instead; no API body needs more than a few levels (an agent script object is about five deep, lead metadata at
most ``MAX_METADATA_DEPTH``).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from litestar import Request

from control_api.errors import ApiError

MAX_BODY_DEPTH = 64

_STRING_RE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = np.zeros(256, dtype=np.int8)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether the arrays and objects of the JSON text ``raw`` nest deeper than ``limit``; brackets inside
    strings do not count. Cheap for ordinary bodies: with at most ``limit`` opening brackets there is nothing
    to measure."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    brackets = _STRING_RE.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if len(brackets) <= limit:
        return False
    depth = np.cumsum(_STEP[np.frombuffer(brackets, dtype=np.uint8)], dtype=np.int64)
    return bool(depth.max() > limit)


class BodyTooDeep(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            400,
            "Bad request",
            f"the JSON body is nested deeper than {limit} levels",
            field="body",
            slug="body-too-deep",
        )


class BoundedRequest(Request[Any, Any, Any]):
    """Litestar's request, refusing JSON bodies nested deeper than ``MAX_BODY_DEPTH`` before decoding them."""

    async def json(self) -> Any:
        if json_depth_exceeds(await self.body(), MAX_BODY_DEPTH):
            raise BodyTooDeep(MAX_BODY_DEPTH)
        return await super().json()
