"""Appending to and verifying the keyed audit log (the only writes application code may make to it).

``append`` joins the caller's transaction, so an action and its audit entry commit or roll back together. It
takes the chain-head row lock first (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the first statement is an
UPDATE, which takes the database write lock), so concurrent writers in any number of worker processes are
serialised and each entry links to exactly one predecessor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from control_api.audit.chain import (
    GENESIS_HASH,
    ChainFields,
    ChainVerifier,
    StoredEntry,
    VerifyResult,
    canonical_details,
    entry_hash,
)
from control_api.audit.keys import chain_key
from control_api.audit.personal_data import check_no_personal_data
from control_api.audit.pseudonym import is_pseudonym
from control_api.audit.tables import CHAIN_HEAD_ID, AuditChainHead, AuditEntry

OUTCOMES = frozenset({"success", "failure", "denied", "error"})


class AuditChainMissingError(RuntimeError):
    """The chain head row is missing: the audit migration has not run on this database."""


@dataclass(frozen=True)
class AppendedEntry:
    seq: int
    entry_hash: str


async def _lock_head(session: AsyncSession) -> tuple[int, str, int | None]:
    columns = (AuditChainHead.seq, AuditChainHead.last_hash, AuditChainHead.keyed_from_seq)
    if session.get_bind().dialect.name == "postgresql":
        row = (
            await session.execute(select(*columns).where(AuditChainHead.id == CHAIN_HEAD_ID).with_for_update())
        ).one_or_none()
    else:
        # A no-op UPDATE first: SQLite then holds the write lock for the rest of this transaction.
        await session.execute(
            update(AuditChainHead).where(AuditChainHead.id == CHAIN_HEAD_ID).values(seq=AuditChainHead.seq)
        )
        row = (await session.execute(select(*columns).where(AuditChainHead.id == CHAIN_HEAD_ID))).one_or_none()
    if row is None:
        raise AuditChainMissingError("audit_chain_head has no row; run the migrations (upgrade heads)")
    return int(row[0]), str(row[1]), None if row[2] is None else int(row[2])


async def append(
    session: AsyncSession,
    *,
    actor: str,
    tenant_id: str | None,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    request_id: str | None = None,
    client_ip: str | None = None,
    outcome: str = "success",
    details: dict[str, Any] | None = None,
    subject_ref: str | None = None,
    at: datetime | None = None,
) -> AppendedEntry:
    """Add one entry in the caller's transaction. ``details`` must hold no raw personal data (ids, counts and
    ``pseudonymize_phone`` values only): it raises ``PersonalDataInAuditError`` otherwise. ``subject_ref`` is the
    pseudonym of the phone number the entry concerns, so an access request can list it. ``at`` overrides the
    time only for imports and tests; entries are still chained in append order."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, not {outcome!r}")
    if subject_ref is not None and not is_pseudonym(subject_ref):
        raise ValueError("subject_ref must come from pseudonymize_phone()")
    details = details or {}
    check_no_personal_data(details)
    # The actor is built by our code ("key:<prefix>", "system:..."): key prefixes are random and may be digit-rich.
    check_no_personal_data({"object_id": str(object_id) if object_id is not None else None})
    details_json = canonical_details(details)

    last_seq, last_hash, keyed_from = await _lock_head(session)
    fields = ChainFields(
        seq=last_seq + 1,
        occurred_at=at or datetime.now(UTC),
        actor=actor,
        tenant_id=tenant_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        request_id=request_id,
        client_ip=client_ip,
        outcome=outcome,
        details_json=details_json,
        prev_hash=last_hash,
        subject_ref=subject_ref,
    )
    digest = entry_hash(fields, chain_key())
    session.add(
        AuditEntry(
            seq=fields.seq,
            occurred_at=fields.occurred_at,
            actor=actor,
            tenant_id=tenant_id,
            action=action,
            object_type=object_type,
            object_id=fields.object_id,
            subject_ref=subject_ref,
            request_id=request_id,
            client_ip=client_ip,
            outcome=outcome,
            details=details_json,
            prev_hash=last_hash,
            entry_hash=digest,
        )
    )
    head_values: dict[str, Any] = {"seq": fields.seq, "last_hash": digest}
    # Every new entry is keyed; a head that does not say so yet starts keying here.
    if keyed_from is None or keyed_from > fields.seq:
        head_values["keyed_from_seq"] = fields.seq
    await session.execute(update(AuditChainHead).where(AuditChainHead.id == CHAIN_HEAD_ID).values(**head_values))
    await session.flush()
    return AppendedEntry(seq=fields.seq, entry_hash=digest)


def stored_entry(row: AuditEntry) -> StoredEntry:
    return StoredEntry(
        fields=ChainFields(
            seq=row.seq,
            occurred_at=row.occurred_at,
            actor=row.actor,
            tenant_id=row.tenant_id,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            request_id=row.request_id,
            client_ip=row.client_ip,
            outcome=row.outcome,
            details_json=row.details,
            prev_hash=row.prev_hash,
            subject_ref=row.subject_ref,
        ),
        stored_hash=row.entry_hash,
    )


async def verify(session: AsyncSession, *, batch: int = 2000) -> VerifyResult:
    """Recompute the whole chain from the stored rows, oldest first; report the first entry that breaks it.
    Entries from the head's ``keyed_from_seq`` on are checked with the process's audit key (``keys.use_key``)."""
    head = await session.get(AuditChainHead, CHAIN_HEAD_ID)
    if head is None:
        raise AuditChainMissingError("audit_chain_head has no row; run the migrations (upgrade heads)")
    head_seq, head_hash = head.seq, head.last_hash
    if head.keyed_from_seq is not None and head.keyed_from_seq > head_seq + 1:
        # Only a rewritten head says keying starts after its last entry: it would pass keyed entries as plain.
        return VerifyResult(
            False,
            0,
            head_seq + 1,
            f"chain head says entries are keyed from {head.keyed_from_seq}, after its last entry {head_seq}",
            keyed_from_seq=head.keyed_from_seq,
        )
    verifier = ChainVerifier(
        anchor_seq=head.anchor_seq,
        anchor_hash=head.anchor_hash or GENESIS_HASH,
        key=chain_key(),
        # No record of keying means no keyed entry was ever appended: all are the old plain hashes.
        keyed_from_seq=head.keyed_from_seq if head.keyed_from_seq is not None else head.seq + 1,
    )
    after = head.anchor_seq
    while True:
        # Keyset pages: constant memory however long the log is.
        rows = (
            (
                await session.execute(
                    select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(batch)
                )
            )
            .scalars()
            .all()
        )
        if not rows:
            break
        for row in rows:
            if not verifier.feed(stored_entry(row)):
                return verifier.result()
        after = rows[-1].seq
        session.expunge_all()
    # Rows below the anchor would mean retention was bypassed or entries were re-inserted.
    stray = await session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.seq <= head.anchor_seq))
    if stray:
        return VerifyResult(
            False,
            verifier.checked,
            head.anchor_seq,
            "entries exist before the retention anchor",
            unkeyed=verifier.unkeyed,
            keyed_from_seq=head.keyed_from_seq,
        )
    return verifier.result(head_seq=head_seq, head_hash=head_hash)


async def verify_tenant(session: AsyncSession, tenant_id: str, *, batch: int = 2000) -> VerifyResult:
    """One tenant's part of the chain: each of its entries must hash to its stored hash, and link (``prev_hash``)
    to the stored hash of the entry just before it, whoever's that is. Other tenants' entries are only looked up by
    ``seq`` for their stored hash, never recomputed or reported: a break in another tenant's row is the operator's
    to find (``verify``), a break in this tenant's rows is reported here."""
    head = await session.get(AuditChainHead, CHAIN_HEAD_ID)
    if head is None:
        raise AuditChainMissingError("audit_chain_head has no row; run the migrations (upgrade heads)")
    anchor_seq, anchor_hash = head.anchor_seq, head.anchor_hash or GENESIS_HASH
    # As ``verify``: entries from the head's keyed_from_seq on are HMACs under the process's key.
    key = chain_key()
    keyed_from = head.keyed_from_seq if head.keyed_from_seq is not None else head.seq + 1
    checked, after, last_hash = 0, anchor_seq, None
    while True:
        rows = (
            (
                await session.execute(
                    select(AuditEntry)
                    .where(AuditEntry.tenant_id == tenant_id, AuditEntry.seq > after)
                    .order_by(AuditEntry.seq)
                    .limit(batch)
                )
            )
            .scalars()
            .all()
        )
        if not rows:
            break
        before = {r.seq - 1 for r in rows} - {anchor_seq}
        found = await session.execute(select(AuditEntry.seq, AuditEntry.entry_hash).where(AuditEntry.seq.in_(before)))
        hashes = {int(seq): str(digest) for seq, digest in found.all()}
        hashes[anchor_seq] = anchor_hash
        for row in rows:
            entry = stored_entry(row)
            reason = None
            if row.seq - 1 not in hashes:
                reason = "the entry before this one is missing"
            elif row.prev_hash != hashes[row.seq - 1]:
                reason = "prev_hash does not match the previous entry's hash"
            elif entry_hash(entry.fields, key if row.seq >= keyed_from else None) != entry.stored_hash:
                reason = "entry content does not match its stored hash"
            if reason is not None:
                return VerifyResult(False, checked, row.seq, reason, last_hash)
            checked += 1
            last_hash = row.entry_hash
        after = rows[-1].seq
        session.expunge_all()
    return VerifyResult(True, checked, None, None, last_hash)


async def entries_for_subject(session: AsyncSession, tenant_id: str, subject_ref: str) -> list[dict[str, Any]]:
    rows = (
        (
            await session.execute(
                select(AuditEntry)
                .where(AuditEntry.tenant_id == tenant_id, AuditEntry.subject_ref == subject_ref)
                .order_by(AuditEntry.seq)
            )
        )
        .scalars()
        .all()
    )
    return [entry_to_dict(r) for r in rows]


def entry_to_dict(row: AuditEntry) -> dict[str, Any]:
    import json

    return {
        "seq": row.seq,
        "occurred_at": row.occurred_at.isoformat(),
        "actor": row.actor,
        "tenant_id": row.tenant_id,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "subject_ref": row.subject_ref,
        "request_id": row.request_id,
        "client_ip": row.client_ip,
        "outcome": row.outcome,
        "details": json.loads(row.details),
        "entry_hash": row.entry_hash,
    }


async def ensure_chain_head(session: AsyncSession) -> None:
    """Seed the head and gate rows when tables were made by ``create_all`` instead of the migration."""
    from control_api.audit.guard import SEED_ROWS

    if await session.get(AuditChainHead, CHAIN_HEAD_ID) is None:
        for stmt in SEED_ROWS:
            await session.execute(text(stmt))
