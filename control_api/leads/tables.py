"""Lead uploads and the leads they added, each with its consent record.

A lead's number is stored as its E.164 digits in a BIGINT (``+919876543210`` -> ``919876543210``), like the DND
registry's: an 8-byte integer key makes the upload's anti-join against the registry fast on both backends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from control_api.campaigns import tables as _campaigns  # noqa: F401  (the foreign keys' tables, registered first)
from control_api.storage.db import Base
from control_api.storage.types import ID, BigIntPK, JsonType, UTCDateTime, utcnow


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
    # account deletes its leads with ``control_api.leads.repository.delete_for_campaigns``.
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
    # Why it waits for next_attempt_at: callback, voicemail, retry, error, window, time_band (dispatch.retry.Reason)
    next_attempt_reason: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
