"""Streaming request bodies: byte batches with a size cap, and bytes -> complete text lines.

Uploads are read with ``request.stream()`` and cut into ~1 MiB batches, so a million-row file never sits in
memory whole; the size cap answers 413 as soon as the limit is crossed.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator

from control_api.errors import ApiError

BATCH_BYTES = 1 << 20


class BodyTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            "Request body too large",
            f"the body exceeds the limit of {limit} bytes; split the file into several uploads",
            field="body",
            slug="body-too-large",
            extra={"limit_bytes": limit},
        )


def check_content_length(header: str | None, limit: int) -> None:
    if header and header.isdigit() and int(header) > limit:
        raise BodyTooLarge(limit)


async def byte_batches(
    stream: AsyncIterator[bytes], limit: int, batch_bytes: int = BATCH_BYTES
) -> AsyncIterator[bytes]:
    """Concatenated chunks of at least ``batch_bytes`` (the last may be shorter); 413 past ``limit``."""
    parts: list[bytes] = []
    size = 0
    total = 0
    async for chunk in stream:
        if not chunk:
            continue
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge(limit)
        parts.append(chunk)
        size += len(chunk)
        if size >= batch_bytes:
            yield b"".join(parts)
            parts, size = [], 0
    if parts:
        yield b"".join(parts)


class LineSplitter:
    """Bytes in, complete lines out (UTF-8, BOM dropped, CRLF or LF). Undecodable bytes become U+FFFD, so a
    broken row is reported as that row's problem instead of failing the upload. NUL becomes U+FFFD too, unless
    ``keep_nul`` (the reader then refuses such lines itself)."""

    def __init__(self, keep_nul: bool = False) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._carry = ""
        self._keep_nul = keep_nul

    def feed(self, data: bytes, final: bool = False) -> list[str]:
        text = self._carry + self._decoder.decode(data, final)
        if (
            not self._keep_nul and "\x00" in text
        ):  # PostgreSQL text cannot hold NUL; the row stays reportable, not fatal
            text = text.replace("\x00", "\ufffd")
        lines = text.split("\n")
        self._carry = "" if final else lines.pop()
        if final and lines and lines[-1] == "":
            lines.pop()
        return [line[:-1] if line.endswith("\r") else line for line in lines]
