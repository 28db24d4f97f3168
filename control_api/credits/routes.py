"""GET /v1/credits: the account's balance, its open holds and the newest ledger entries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import get
from litestar.params import FromQuery, QueryParameter
from litestar.types import ControllerRouterHandler

from control_api.accounts.auth import Caller
from control_api.credits import ledger
from control_api.deps import Session
from control_api.errors import InvalidField


class LedgerEntryView(msgspec.Struct):
    id: int
    kind: str
    amount: int
    call_id: str | None
    note: str | None
    created_at: datetime


class CreditsView(msgspec.Struct):
    account_id: str
    balance: int  # sum of the ledger: what may still be reserved
    held: int  # reserved for calls in progress
    entries: list[LedgerEntryView]
    next_cursor: str | None


Limit = Annotated[int, QueryParameter(ge=1, le=500, description="ledger entries per page")]


@get("/credits", tags=["credits"])
async def get_credits(
    principal: Caller, session: Session, limit: Limit = 50, cursor: FromQuery[str | None] = None
) -> CreditsView:
    """Balance and ledger, newest entry first; ``cursor`` pages to older entries."""
    before: int | None = None
    if cursor is not None:
        if not cursor.isdigit():
            raise InvalidField("cursor", "cursor must be the next_cursor of a previous page")
        before = int(cursor)
    rows = await ledger.entries(session, principal.account_id, before_id=before, limit=limit + 1)
    page = rows[:limit]
    return CreditsView(
        account_id=principal.account_id,
        balance=await ledger.balance(session, principal.account_id),
        held=await ledger.held(session, principal.account_id),
        entries=[
            LedgerEntryView(
                id=e.id, kind=e.kind, amount=e.amount, call_id=e.call_id, note=e.note, created_at=e.created_at
            )
            for e in page
        ],
        next_cursor=str(page[-1].id) if len(rows) > limit else None,
    )


def route_handlers() -> list[ControllerRouterHandler]:
    return [get_credits]
