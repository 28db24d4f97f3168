"""Tables of the privacy area: grievances, per-account privacy settings (region, retention), job state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from control_api.storage.db import Base
from control_api.storage.types import UTCDateTime, utcnow

GRIEVANCE_STATUSES = ("open", "in_progress", "resolved")


class Grievance(Base):
    """A complaint to the Grievance Officer (DPDP s.13). The phone number concerned is kept only as its keyed
    pseudonym: enough to match it to a subject's records, nothing to leak."""

    __tablename__ = "grievances"
    __table_args__ = (Index("ix_grievances_account_status_due", "account_id", "status", "due_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    complainant_name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(320))
    phone_ref: Mapped[str | None] = mapped_column(String(67), index=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AccountPrivacy(Base):
    """Per-account privacy settings; a missing row means the defaults (region ``in``, the deployment's retention)."""

    __tablename__ = "account_privacy"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    region: Mapped[str] = mapped_column(String(8), default="in")
    content_retention_days: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PrivacyJob(Base):
    """Schedule and lease of a background job, in the database so a restart (or a second worker) picks up where
    the last run left off instead of starting the clock again."""

    __tablename__ = "privacy_jobs"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_result: Mapped[str | None] = mapped_column(Text)  # JSON counts of the last run
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    runs: Mapped[int] = mapped_column(Integer, default=0)


class ErasedSubject(Base):
    """A number erased on a data principal's request, as its keyed pseudonym only: lets uploads and dispatch
    refuse the number again without keeping it (the client's own suppression row held it in clear)."""

    __tablename__ = "erased_subjects"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    phone_ref: Mapped[str] = mapped_column(String(67), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The number was on the client's suppression list when erased: it stays blocked (DND check) without being kept.
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
