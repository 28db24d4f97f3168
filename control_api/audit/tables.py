"""The audit tables: the log itself and the one-row chain head that serialises appends.

``audit_log`` has no foreign keys on purpose: entries outlive the accounts, leads and calls they describe
(erasure deletes those, the audit entry keeps only ids and keyed pseudonyms).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from control_api.storage.db import Base
from control_api.storage.types import UTCDateTime

CHAIN_HEAD_ID = 1


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_tenant_seq", "tenant_id", "seq"),
        Index("ix_audit_log_subject_ref", "subject_ref"),
        Index("ix_audit_log_occurred_at", "occurred_at"),
    )

    # Assigned from the chain head under its lock, not by the database: the hash covers it.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    tenant_id: Mapped[str | None] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    subject_ref: Mapped[str | None] = mapped_column(String(67))  # pseudonym of the phone number concerned
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    details: Mapped[str] = mapped_column(Text)  # canonical JSON text, exactly what was hashed
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """One row. ``seq``/``last_hash``: the newest entry. ``anchor_*``: the last entry removed by retention, which
    the oldest surviving entry must link to (so cutting the old end is recorded, not a silent truncation).
    ``keyed_from_seq``: the first entry hashed with the audit key; older ones are plain SHA-256."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    anchor_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    anchor_hash: Mapped[str] = mapped_column(String(64))
    keyed_from_seq: Mapped[int | None] = mapped_column(BigInteger)


class AuditRetentionGate(Base):
    """SQLite has no session variables: the retention job raises this one-row flag inside its own transaction so
    the append-only triggers let its deletes through; everyone else still gets an error."""

    __tablename__ = "audit_retention_gate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    open: Mapped[int] = mapped_column(Integer, default=0)
