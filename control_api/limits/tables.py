"""Fixed-window request counters shared by every API process (the database is what they have in common)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from control_api.storage.db import Base
from control_api.storage.types import UTCDateTime


class RateLimitWindow(Base):
    __tablename__ = "rate_limit_windows"

    # "<rule>:<who>:<window number>"; who is a client address or a key id, never a phone number or name.
    bucket: Mapped[str] = mapped_column(String(200), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
