"""DND rules. ``check`` is what the dispatcher asks at dial time; ``add_entry`` is how opt-outs (in a call, via
the API, by a data-principal request) reach the suppression list, effective on the next dial since ``check``
always reads the table."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from control_api.accounts.service import Principal
from control_api.audit import audit_event, pseudonymize_phone
from control_api.dnd import repository as repo
from control_api.dnd.preferences import (
    BlockReason,
    Preference,
    Source,
    categories_of,
    judge,
    mask_of,
)
from control_api.dnd.registry_file import RegistryFileParser
from control_api.dnd.repository import RegistryWriter
from control_api.dnd.schemas import DndEntryView, DndLookup, ImportReport, TimeBand, VerdictView, WithdrawResult
from control_api.dnd.tables import REGISTRY_SCOPE, DndEntry
from control_api.errors import InvalidField
from control_api.phones import parse_any, to_e164
from control_api.privacy.suppression import suppressed_after_erasure
from control_api.storage.db import Database
from control_api.storage.types import utcnow
from control_api.streaming import byte_batches

MAX_REPORTED_LINES = 1000
# A bulk import this large is vacuumed and analysed before the answer (see ``repo.settle``).
SETTLE_AFTER_ROWS = 100_000


@dataclass(frozen=True)
class DndEntryInfo:
    phone: str  # E.164
    scope: str
    blocked_all: bool
    accepted_categories: tuple[int, ...]
    time_bands: tuple[tuple[str, str], ...] | None
    source: str
    created_at: datetime


@dataclass(frozen=True)
class DndVerdict:
    """The answer for one dial: ``reason`` is a ``BlockReason`` value when not allowed; ``entry`` is the entry
    that decided (None when the number is in no list). It goes into the dispatch audit as is."""

    allowed: bool
    reason: str | None
    entry: DndEntryInfo | None

    def to_dict(self) -> dict[str, object]:
        entry = None
        if self.entry is not None:
            entry = {
                "scope": "registry" if self.entry.scope == REGISTRY_SCOPE else "account",
                "blocked_all": self.entry.blocked_all,
                "accepted_categories": list(self.entry.accepted_categories),
                "time_bands": None if self.entry.time_bands is None else [list(b) for b in self.entry.time_bands],
                "source": self.entry.source,
                "created_at": self.entry.created_at.isoformat(),
            }
        return {"allowed": self.allowed, "reason": self.reason, "entry": entry}


def _info(e: DndEntry) -> DndEntryInfo:
    return DndEntryInfo(
        phone=to_e164(e.phone),
        scope=e.scope,
        blocked_all=e.blocked_all,
        accepted_categories=tuple(categories_of(e.categories)),
        time_bands=None if not e.time_bands else tuple((b["start"], b["end"]) for b in e.time_bands),
        source=e.source,
        created_at=e.created_at,
    )


def _phone_key(phone: str | int) -> int | None:
    if isinstance(phone, int):
        return phone
    return parse_any(phone)


async def check(
    session: AsyncSession,
    phone: str | int,
    category: int,
    *,
    account_id: str | None = None,
    at: datetime | None = None,
) -> DndVerdict:
    """May a campaign of TRAI ``category`` call ``phone`` now? Reads the registry and, with ``account_id``, that
    client's suppression list. A fully blocked entry always wins; a partial one allows only its categories (and
    only inside its time bands, in the lead's local time)."""
    if not 1 <= category <= 8:
        raise ValueError("category must be 1-8")
    key = _phone_key(phone)
    if key is None:
        return DndVerdict(allowed=False, reason="invalid_number", entry=None)
    when = at or utcnow()
    if account_id is not None and await suppressed_after_erasure(session, account_id, key):
        # erased on request after opting out; only the pseudonym is left, the block stays.
        return DndVerdict(allowed=False, reason=str(BlockReason.SUPPRESSED), entry=None)
    entries = await repo.entries_for(session, key, account_id)
    # Suppression first, then the registry: the most specific refusal is the one reported.
    entries.sort(key=lambda e: e.scope == REGISTRY_SCOPE)
    for e in entries:
        pref = Preference(scope=e.scope, blocked_all=e.blocked_all, categories=e.categories, time_bands=e.time_bands)
        reason = judge(pref, category, key, when)
        if reason is not None:
            return DndVerdict(allowed=False, reason=str(reason), entry=_info(e))
    return DndVerdict(allowed=True, reason=None, entry=_info(entries[-1]) if entries else None)


async def add_entry(
    session: AsyncSession,
    phone: str | int,
    source: Source | str,
    *,
    account_id: str | None,
    blocked_all: bool = True,
    categories: list[int] | None = None,
    time_bands: list[dict[str, str]] | None = None,
) -> DndEntryInfo:
    """Upsert one entry: into the client's suppression list (``account_id``) or the registry (None)."""
    key = _phone_key(phone)
    if key is None:
        raise InvalidField("phone", "not a valid phone number")
    src = Source(source)
    now = utcnow()
    mask = 0 if blocked_all else mask_of(categories or [])
    scope = account_id or REGISTRY_SCOPE
    await repo.upsert(
        session,
        phone=key,
        scope=scope,
        blocked_all=blocked_all,
        categories=mask,
        time_bands=time_bands,
        source=src.value,
        created_at=now,
    )
    return DndEntryInfo(
        phone=to_e164(key),
        scope=scope,
        blocked_all=blocked_all,
        accepted_categories=tuple(categories_of(mask)),
        time_bands=None if not time_bands else tuple((b["start"], b["end"]) for b in time_bands),
        source=src.value,
        created_at=now,
    )


async def withdraw_consent(session: AsyncSession, principal: Principal, phone: str) -> WithdrawResult:
    """A lead's own withdrawal: onto this client's suppression list at once, fully blocked."""
    # a data principal's own request, recorded as such and audited under the number's pseudonym.
    info = await add_entry(session, phone, Source.DATA_PRINCIPAL_REQUEST, account_id=principal.account_id)
    await audit_event(
        session,
        principal,
        "consent.withdraw",
        object_type="subject",
        subject_ref=pseudonymize_phone(info.phone),
        details={"suppressed": True, "source": info.source},
    )
    return WithdrawResult(phone=info.phone, suppressed=True, source=info.source, created_at=info.created_at)


def _entry_view(e: DndEntry) -> DndEntryView:
    return DndEntryView(
        scope="registry" if e.scope == REGISTRY_SCOPE else "account",
        blocked_all=e.blocked_all,
        accepted_categories=categories_of(e.categories),
        time_bands=None if not e.time_bands else [TimeBand(start=b["start"], end=b["end"]) for b in e.time_bands],
        source=e.source,
        created_at=e.created_at,
    )


async def lookup(session: AsyncSession, principal: Principal, phone: str, category: int | None) -> DndLookup:
    key = parse_any(phone)
    if key is None:
        raise InvalidField("phone", "not a valid phone number")
    entries = await repo.entries_for(session, key, principal.account_id)
    entries.sort(key=lambda e: e.scope == REGISTRY_SCOPE)
    verdict = None
    if category is not None:
        v = await check(session, key, category, account_id=principal.account_id)
        verdict = VerdictView(category=category, allowed=v.allowed, reason=v.reason)
    return DndLookup(
        phone=to_e164(key), listed=bool(entries), entries=[_entry_view(e) for e in entries], verdict=verdict
    )


async def import_registry(
    db: Database, principal: Principal, body: AsyncIterator[bytes], *, scope: str, max_bytes: int
) -> ImportReport:
    """Stream a registry file into the registry (``scope="registry"``) or the client's suppression list
    (``scope="account"``); one transaction, so a failed import changes nothing."""
    target = REGISTRY_SCOPE if scope == "registry" else principal.account_id
    source = Source.REGISTRY_IMPORT if scope == "registry" else Source.API_OPT_OUT
    parser = RegistryFileParser()
    imported = 0
    async with db.sessions() as session:
        writer = RegistryWriter(session, target, source.value, utcnow())
        try:
            await writer.start()
            # Pipelined like lead uploads: batch N is written while batch N+1 is parsed in a worker thread.
            batches = byte_batches(body, max_bytes)
            pending: asyncio.Task[None] | None = None
            try:
                while True:
                    blob = await anext(batches, None)
                    rows = await asyncio.to_thread(parser.feed, b"" if blob is None else blob, blob is None)
                    if pending is not None:
                        await pending
                    pending = asyncio.create_task(writer.add(rows))
                    imported += len(rows)
                    if blob is None:
                        break
                await pending
            finally:
                if pending is not None and not pending.done():
                    with contextlib.suppress(BaseException):
                        await pending
            await writer.finish()
            await audit_event(  # opt-out lists and registry imports are audited (counts only)
                session, principal, "dnd.import", object_type="dnd", details={"scope": scope, "imported": imported}
            )
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            await writer.drop()
    if imported >= SETTLE_AFTER_ROWS:
        await repo.settle(db)
    rejected = sorted([*parser.rejected_lines, *parser.invalid_lines])
    return ImportReport(
        rows=parser.rows_seen,
        imported=imported,
        invalid_number=len(parser.invalid_lines),
        malformed_row=len(parser.rejected_lines),
        rejected_lines=rejected[:MAX_REPORTED_LINES],
        scope=scope,
    )


__all__ = ["BlockReason", "DndEntryInfo", "DndVerdict", "Source", "add_entry", "check", "lookup"]
