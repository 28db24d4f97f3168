"""The keyed hash chain, with no I/O: how an entry is hashed and how a run of entries is verified.

Each entry's hash covers its own fields and the previous entry's hash, so changing, inserting or removing any
row changes every hash after it. The verifier recomputes from the stored fields and reports the first entry whose
stored hash (or link) disagrees: the row that was edited behind the application's back.

The hash is an HMAC-SHA256 under a key that lives in the environment, not in the database: whoever can write the
database can edit a row, but cannot recompute a hash the verifier accepts. Entries written before the chain was
keyed (``seq < keyed_from_seq``) are plain SHA-256 and verify as before; the result counts them.
"""

from __future__ import annotations

import hashlib
import hmac
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


def entry_hash(fields: ChainFields, key: bytes | None = None) -> str:
    """HMAC-SHA256 under ``key``; without a key, the plain SHA-256 of entries written before keying."""
    if key is None:
        return hashlib.sha256(fields.canonical()).hexdigest()
    return hmac.new(key, fields.canonical(), hashlib.sha256).hexdigest()


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
    # Entries checked as plain SHA-256 (written before the chain was keyed): anyone with write access to the
    # database could have re-hashed those, so the report says how many there are.
    unkeyed: int = 0
    keyed_from_seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_broken_seq": self.first_broken_seq,
            "reason": self.reason,
            "last_hash": self.last_hash,
            "unkeyed": self.unkeyed,
            "keyed_from_seq": self.keyed_from_seq,
        }


class ChainVerifier:
    """Feed entries in ``seq`` order; stops judging at the first break (everything after it is suspect)."""

    def __init__(
        self,
        *,
        anchor_seq: int = 0,
        anchor_hash: str = GENESIS_HASH,
        key: bytes | None = None,
        keyed_from_seq: int | None = None,
    ) -> None:
        # The anchor is where retention cut the chain: the first surviving entry must link to it.
        self._expected_seq = anchor_seq + 1
        self._expected_prev = anchor_hash
        self._key = key
        # Without a key nothing is judged as keyed (the pure, pre-keying chain).
        self._keyed_from = keyed_from_seq if key is not None else None
        self.checked = 0
        self.unkeyed = 0
        self.broken: VerifyResult | None = None

    def _keyed(self, seq: int) -> bool:
        return self._keyed_from is not None and seq >= self._keyed_from

    def _result(self, ok: bool, first_broken_seq: int | None = None, reason: str | None = None) -> VerifyResult:
        return VerifyResult(
            ok, self.checked, first_broken_seq, reason, self._expected_prev, self.unkeyed, self._keyed_from
        )

    def feed(self, entry: StoredEntry) -> bool:
        if self.broken is not None:
            return False
        f = entry.fields
        reason = None
        if f.seq != self._expected_seq:
            reason = f"expected entry {self._expected_seq}, found {f.seq}: an entry is missing or was inserted"
        elif f.prev_hash != self._expected_prev:
            reason = "prev_hash does not match the previous entry's hash"
        elif entry_hash(f, self._key if self._keyed(f.seq) else None) != entry.stored_hash:
            reason = "entry content does not match its stored hash"
            if self._keyed(f.seq):
                reason += " (edited, re-hashed without the audit key, or verified with another key)"
        if reason is not None:
            self.broken = self._result(False, f.seq, reason)
            return False
        self.checked += 1
        if not self._keyed(f.seq):
            self.unkeyed += 1
        self._expected_seq = f.seq + 1
        self._expected_prev = entry.stored_hash
        return True

    def result(self, *, head_seq: int | None = None, head_hash: str | None = None) -> VerifyResult:
        if self.broken is not None:
            return self.broken
        # The head row records the last appended entry; a truncated tail is a break too.
        if head_seq is not None and head_seq != self._expected_seq - 1:
            return self._result(
                False,
                self._expected_seq,
                f"chain head says {head_seq} entries were appended; the log ends at {self._expected_seq - 1}",
            )
        if head_hash is not None and head_seq is not None and head_hash != self._expected_prev:
            return self._result(False, head_seq, "last entry's hash differs from the chain head")
        return self._result(True)


def verify_entries(
    entries: Iterable[StoredEntry],
    *,
    anchor_seq: int = 0,
    anchor_hash: str = GENESIS_HASH,
    key: bytes | None = None,
    keyed_from_seq: int | None = None,
) -> VerifyResult:
    verifier = ChainVerifier(anchor_seq=anchor_seq, anchor_hash=anchor_hash, key=key, keyed_from_seq=keyed_from_seq)
    for entry in entries:
        if not verifier.feed(entry):
            break
    return verifier.result()
