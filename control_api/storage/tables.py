"""The core tables. Other areas (privacy, dispatch, credits) add their own tables in their own modules on the
same ``Base`` and their own Alembic revision branch.

Phone numbers are stored as the E.164 digits in a BIGINT (``+919876543210`` -> ``919876543210``): an 8-byte
integer key makes the registry index small and the upload anti-join fast on both backends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from control_api.storage.db import Base
from control_api.storage.types import BigIntPK, JsonType, UTCDateTime, utcnow

ID = String(36)  # uuid4 text for every public object except leads (bulk: integer ids)

# Scope of a DND entry: the national registry simulation, or one client's own suppression list (account id).
REGISTRY_SCOPE = "registry"


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    billing: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    registration_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)  # shown in lists; finds the row
    key_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of the whole key
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="draft")
    script: Mapped[dict[str, Any]] = mapped_column(JsonType)
    category: Mapped[int] = mapped_column(SmallInteger)  # TRAI category 1-8, from the script
    window_start: Mapped[str] = mapped_column(String(5), default="09:00")  # lead's local time
    window_end: Mapped[str] = mapped_column(String(5), default="21:00")
    days: Mapped[list[str]] = mapped_column(JsonType)  # ["mon", ...]
    concurrency: Mapped[int] = mapped_column(Integer, default=5)
    retry: Mapped[dict[str, Any]] = mapped_column(JsonType)  # {dispositions, spacing_minutes, max_attempts}
    max_call_seconds: Mapped[int] = mapped_column(Integer, default=300)
    retention_days: Mapped[int] = mapped_column(Integer, default=90)
    caller_id: Mapped[str | None] = mapped_column(String(32))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LeadUpload(Base):
    __tablename__ = "lead_uploads"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    content_type: Mapped[str] = mapped_column(String(40))
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    rejected_by_reason: Mapped[dict[str, int]] = mapped_column(JsonType, default=dict)
    no_minors_attested: Mapped[bool] = mapped_column(Boolean)
    consent_attestation: Mapped[dict[str, Any] | None] = mapped_column(JsonType)  # campaign-level, if given
    attested_by: Mapped[str] = mapped_column(String(320))  # the API key prefix that uploaded
    client_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Lead(Base):
    """One lead and its consent record, kept as long as the lead exists."""

    __tablename__ = "leads"
    __table_args__ = (
        # Led by the number: it also finds a number across campaigns (access and erasure requests), and an
        # upload pays for one random-order index per row, not two.
        UniqueConstraint("phone", "campaign_id", name="uq_leads_phone_campaign"),
        Index("ix_leads_campaign_status", "campaign_id", "status"),
    )

    # Few indexes and no foreign keys on purpose: each is paid per row on a million-row upload (PostgreSQL
    # checks a foreign key with one query per row: ~3 s per million). account_id, campaign_id and upload_id
    # are set together by the upload service from rows it has just read; whatever deletes a campaign or an
    # account deletes its leads with ``repositories.leads.delete_for_campaigns``.
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ID)
    campaign_id: Mapped[str] = mapped_column(ID)
    upload_id: Mapped[str] = mapped_column(ID)
    line: Mapped[int] = mapped_column(Integer)  # line of the upload the lead came from
    phone: Mapped[int] = mapped_column(BigInteger)  # E.164 digits
    name: Mapped[str | None] = mapped_column(String(200))
    extra: Mapped[dict[str, Any] | None] = mapped_column("metadata", JsonType)
    consent_source: Mapped[str] = mapped_column(String(200))
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    consent_purpose: Mapped[str] = mapped_column(String(500))
    consent_attested_by: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(24), default="pending")  # the dispatcher owns its values
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DndEntry(Base):
    """A registry preference. ``scope`` is ``registry`` (the national registry simulation) or an account id
    (that client's own suppression list). ``categories`` is a bitmask of the accepted categories 1-8 (bit
    n-1)."""

    __tablename__ = "dnd_entries"

    phone: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    scope: Mapped[str] = mapped_column(String(36), primary_key=True)
    blocked_all: Mapped[bool] = mapped_column(Boolean)
    categories: Mapped[int] = mapped_column(SmallInteger, default=0)
    time_bands: Mapped[list[dict[str, str]] | None] = mapped_column(JsonType)
    source: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Call(Base):
    """One call attempt. The dispatcher writes it; ``record`` is ``engine.records.CallRecord.to_dict()``."""

    __tablename__ = "calls"
    __table_args__ = (Index("ix_calls_campaign_created", "campaign_id", "created_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    lead_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("leads.id", ondelete="SET NULL"),
        index=True,
    )
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(24), default="queued")
    outcome: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_s: Mapped[float | None] = mapped_column()
    transcript: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonType)
    turns: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonType)
    slots: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    record: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
