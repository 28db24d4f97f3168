"""A call's recording for its owner: which file, who may hear it, and the byte range a player asked for."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from litestar import Response
from litestar.response import File
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts.policy import recordings_account
from control_api.accounts.service import Principal
from control_api.audit import audit_event
from control_api.byte_ranges import ByteRange, parse_range, read_range
from control_api.calls import repository as repo
from control_api.errors import NotFound
from control_api.privacy.audio_files import audio_paths

MEDIA_TYPES = {".ogg": "audio/ogg", ".flac": "audio/flac", ".wav": "audio/wav", ".mp3": "audio/mpeg"}


@dataclass(frozen=True)
class RecordingAnswer:
    path: Path
    media_type: str
    size: int
    byte_range: ByteRange | None = None  # None: the whole file
    body: bytes = b""  # the range's bytes, when there is a range


def media_type_of(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix, "application/octet-stream")


async def recording(
    session: AsyncSession, principal: Principal, call_id: str, data_dir: Path, range_header: str | None
) -> RecordingAnswer:
    account_id = recordings_account(principal, principal.account_id)
    call = await (repo.get_any(session, call_id) if account_id is None else repo.get(session, account_id, call_id))
    if call is None:
        raise NotFound("call")
    paths = audio_paths(data_dir, call.id)
    if not paths:
        raise NotFound("recording")  # not recorded, or purged with the transcript
    path = paths[0]
    if call.account_id != principal.account_id:  # the operator hearing a client's call
        await audit_event(
            session, principal, "call.recording.read", tenant_id=call.account_id, object_type="call", object_id=call.id
        )
    size = path.stat().st_size
    byte_range = parse_range(range_header, size)
    if byte_range is None:
        return RecordingAnswer(path, media_type_of(path), size)
    body = await asyncio.to_thread(read_range, path, byte_range)
    return RecordingAnswer(path, media_type_of(path), size, byte_range, body)


def as_response(answer: RecordingAnswer) -> File | Response[bytes]:
    """The whole file (200) or the asked-for range (206), for the API and the console's player alike."""
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    if answer.byte_range is None:
        return File(path=answer.path, media_type=answer.media_type, content_disposition_type="inline", headers=headers)
    headers["Content-Range"] = answer.byte_range.content_range
    return Response(content=answer.body, status_code=206, media_type=answer.media_type, headers=headers)
