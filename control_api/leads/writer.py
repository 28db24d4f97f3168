"""What an upload writer is given and must do; ``writer_pg`` and ``writer_sqlite`` are the two writers.

Both keep one upload all-or-nothing: every row is written inside the caller's transaction, and nothing is
committed unless the whole file was read and checked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from control_api.leads.tables import LeadUpload

# line, phone (E.164 digits), name, metadata JSON, consent source, consent time, consent purpose; consent fields
# are None when the campaign-level attestation covers the row. The consent time is in the writer's staging form
# (``LeadWriter.stage_time``).
StagedRow = tuple[int, int, str | None, str | None, str | None, Any, str | None]
Check = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class UploadContext:
    account_id: str
    campaign_id: str
    upload_id: str
    category: int  # the campaign's TRAI category, for the DND scrub
    attested_by: str
    attestation: tuple[str, datetime, str] | None  # (source, at, purpose) covering rows without their own
    now: datetime


class LeadWriter(Protocol):
    def stage_time(self, value: datetime) -> Any: ...

    async def start(self) -> None: ...

    async def add(self, rows: list[StagedRow]) -> None:
        """Takes one batch; the next ``add`` may start before this one ends (the caller keeps a few in flight),
        and the writer keeps them in the order they were called."""
        ...

    async def finish(self, upload: LeadUpload, check: Check) -> tuple[int, Iterable[tuple[int, str]]]:
        """Writes the upload row and the leads, calling ``check`` (which may raise) once the write lock is held;
        answers (accepted, (line, reason) of the rows refused here, in line order). The rows refused may be
        millions: they are held compactly and produced one by one, not as a list."""
        ...

    async def drop(self) -> None: ...
