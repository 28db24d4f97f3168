"""Campaigns: the script, its TRAI category, the calling window and the retry policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from control_api.accounts import tables as _accounts  # noqa: F401  (the foreign key's table, registered first)
from control_api.storage.db import Base
from control_api.storage.types import ID, JsonType, UTCDateTime, utcnow


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
    policy: Mapped[str] = mapped_column(String(16), default="script", server_default="script")  # script | llm
    # "on" | "off". Rows older than the column read "off": their greeting was never checked for the recording notice.
    recording: Mapped[str] = mapped_column(String(3), default="on", server_default="off")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
