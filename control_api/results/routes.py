"""GET /v1/campaigns/{id}/results: the campaign's leads with their latest call, streamed as CSV or NDJSON."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream
from litestar.types import ControllerRouterHandler

from control_api.accounts.auth import Caller
from control_api.campaigns import service as campaigns
from control_api.deps import Db, Session
from control_api.results.service import Format, download


@get("/campaigns/{campaign_id:str}/results", tags=["campaigns"])
async def campaign_results(
    campaign_id: FromPath[str],
    principal: Caller,
    session: Session,
    db: Db,
    fmt: Annotated[Format, QueryParameter(name="format", description="csv (spreadsheet-safe) or ndjson")] = "csv",
) -> Stream:
    """One row per lead: status, attempts, next attempt, and its latest call's id, disposition, outcome, slots,
    callback time and duration. CSV cells that would run as spreadsheet formulas are prefixed with ``'``."""
    return download(db, await campaigns.get_owned(session, principal, campaign_id), fmt)


def route_handlers() -> list[ControllerRouterHandler]:
    return [campaign_results]
