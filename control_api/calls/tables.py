"""Call attempts and what each produced (outcome, transcript, slots, the engine's record)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from control_api.leads import tables as _leads  # noqa: F401  (the foreign keys' tables, registered first)
from control_api.storage.db import Base
from control_api.storage.types import ID, JsonType, UTCDateTime, utcnow


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
