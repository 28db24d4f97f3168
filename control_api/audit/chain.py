"""The SHA-256 hash chain, with no I/O: how an entry is hashed and how a run of entries is verified.

Each entry's hash covers its own fields and the previous entry's hash, so changing, inserting or removing any
row changes every hash after it. The verifier recomputes from the stored fields and reports the first entry whose
stored hash (or link) disagrees: the row that was edited behind the application's back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_details(details: dict[str, Any] | None) -> str:
    """One byte-exact JSON spelling; stored as text so the database never re-spells what was hashed."""
    return json.dumps(details or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_time(when: datetime) -> str:
    # SQLite hands back naive datetimes; everything is written in UTC, so naive means UTC.
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class ChainFields:
    """What one audit entry commits to (every column but its own hash)."""

    seq: int
    occurred_at: datetime
    actor: str
    tenant_id: str | None
    action: str
    object_type: str | None
    object_id: str | None
    request_id: str | None
    client_ip: str | None
    outcome: str
    details_json: str
    prev_hash: str
    subject_ref: str | None = None

    def canonical(self) -> bytes:
        doc = {
            "seq": self.seq,
            "occurred_at": canonical_time(self.occurred_at),
            "actor": self.actor,
            "tenant_id": self.tenant_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "request_id": self.request_id,
            "client_ip": self.client_ip,
            "outcome": self.outcome,
            "details": self.details_json,
            "subject_ref": self.subject_ref,
            "prev_hash": self.prev_hash,
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(fields: ChainFields) -> str:
    return hashlib.sha256(fields.canonical()).hexdigest()


@dataclass(frozen=True)
class StoredEntry:
    fields: ChainFields
    stored_hash: str


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
    last_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_broken_seq": self.first_broken_seq,
            "reason": self.reason,
            "last_hash": self.last_hash,
        }


class ChainVerifier:
    """Feed entries in ``seq`` order; stops judging at the first break (everything after it is suspect)."""

    def __init__(self, *, anchor_seq: int = 0, anchor_hash: str = GENESIS_HASH) -> None:
        # The anchor is where retention cut the chain: the first surviving entry must link to it.
        self._expected_seq = anchor_seq + 1
        self._expected_prev = anchor_hash
        self.checked = 0
        self.broken: VerifyResult | None = None

    def feed(self, entry: StoredEntry) -> bool:
        if self.broken is not None:
            return False
        f = entry.fields
        reason = None
        if f.seq != self._expected_seq:
            reason = f"expected entry {self._expected_seq}, found {f.seq}: an entry is missing or was inserted"
        elif f.prev_hash != self._expected_prev:
            reason = "prev_hash does not match the previous entry's hash"
        elif entry_hash(f) != entry.stored_hash:
            reason = "entry content does not match its stored hash"
        if reason is not None:
            self.broken = VerifyResult(False, self.checked, f.seq, reason, self._expected_prev)
            return False
        self.checked += 1
        self._expected_seq = f.seq + 1
        self._expected_prev = entry.stored_hash
        return True

    def result(self, *, head_seq: int | None = None, head_hash: str | None = None) -> VerifyResult:
        if self.broken is not None:
            return self.broken
        # The head row records the last appended entry; a truncated tail is a break too.
        if head_seq is not None and head_seq != self._expected_seq - 1:
            return VerifyResult(
                False,
                self.checked,
                self._expected_seq,
                f"chain head says {head_seq} entries were appended; the log ends at {self._expected_seq - 1}",
                self._expected_prev,
            )
        if head_hash is not None and head_seq is not None and head_hash != self._expected_prev:
            return VerifyResult(
                False,
                self.checked,
                head_seq,
                "last entry's hash differs from the chain head",
                self._expected_prev,
            )
        return VerifyResult(True, self.checked, None, None, self._expected_prev)


def verify_entries(
    entries: Iterable[StoredEntry], *, anchor_seq: int = 0, anchor_hash: str = GENESIS_HASH
) -> VerifyResult:
    verifier = ChainVerifier(anchor_seq=anchor_seq, anchor_hash=anchor_hash)
    for entry in entries:
        if not verifier.feed(entry):
            break
    return verifier.result()
