"""A campaign's results as a streamed download, for the API and the console alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

from litestar.response import Stream

from control_api.campaigns.tables import Campaign
from control_api.results import export, repository
from control_api.storage.db import Database

Format = Literal["csv", "ndjson"]
# Rows per query: memory stays flat however many leads the campaign has.
BATCH = 2000
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}


async def _chunks(db: Database, campaign_id: str, fmt: Format) -> AsyncIterator[bytes]:
    if fmt == "csv":
        yield export.csv_header().encode()
    after = 0
    while True:
        # A session per batch: a long download holds no transaction (nor, on SQLite, a read lock) open.
        async with db.sessions() as s:
            rows = await repository.batch(s, campaign_id, after, BATCH)
        if not rows:
            return
        text = export.csv_lines(rows) if fmt == "csv" else export.ndjson_lines(rows)
        yield text.encode()
        after = rows[-1].lead_id


def download(db: Database, campaign: Campaign, fmt: Format) -> Stream:
    return Stream(
        _chunks(db, campaign.id, fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="campaign-{campaign.id}-results.{fmt}"'},
    )
