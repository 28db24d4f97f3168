"""Dispatcher state: a lease per call in progress, and per-campaign dispatch facts (why it was paused).

A lead has at most one lease (its id is the primary key), which is what makes "never dialed twice at once" hold
across any number of workers; the count of leases is what the concurrency caps are checked against.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from control_api.storage.db import Base
from control_api.storage.types import UTCDateTime, utcnow
from control_api.webhooks import tables as _webhook_tables  # noqa: F401  (the outbox migrates with dispatch)


class DispatchLease(Base):
    __tablename__ = "dispatch_leases"

    # No foreign key on purpose: a lead erased mid-call must leave its lease, so the call is still settled and
    # its credit hold released.
    lead_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(36), unique=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[str] = mapped_column(String(100))
    attempt: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(BigInteger)
    leased_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # The call's progress as its worker publishes it (``control_api.dispatch.progress``), for live views in any
    # process. Empty until the worker's first publish: the call is being dialed. The row, and with it the
    # progress, goes when the call is settled or its lease reaped.
    live_state: Mapped[str | None] = mapped_column(String(16))  # ringing | answered | talking
    live_turns: Mapped[int | None] = mapped_column(Integer)
    live_role: Mapped[str | None] = mapped_column(String(8))  # who spoke the last line: bot | lead
    live_text: Mapped[str | None] = mapped_column(Text)  # the last line, cut to a few hundred characters
    live_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CampaignDispatch(Base):
    """What the dispatcher knows about a campaign beyond its state: the reason of its last automatic pause and
    whether its completion webhook has been queued."""

    __tablename__ = "campaign_dispatch"

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    paused_reason: Mapped[str | None] = mapped_column(String(64))
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completion_notified: Mapped[bool] = mapped_column(Boolean, default=False)
