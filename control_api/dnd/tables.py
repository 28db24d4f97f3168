"""The DND registry simulation and the clients' own suppression lists, in one table.

Numbers are stored as their E.164 digits in a BIGINT (``+919876543210`` -> ``919876543210``): an 8-byte
integer key keeps the registry index small and the lead upload's anti-join fast on both backends.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from control_api.storage.db import Base
from control_api.storage.types import JsonType, UTCDateTime, utcnow

# Scope of a DND entry: the national registry simulation, or one client's own suppression list (account id).
REGISTRY_SCOPE = "registry"


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
