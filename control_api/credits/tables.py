"""The credit ledger: append-only; an account's balance is the sum of its entries.

``ref`` is the idempotency key of an entry (``<call_id>:reserve``, ``<call_id>:charge``, ...): a unique index makes
a retried settlement a no-op instead of a second charge.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from control_api.storage.db import Base
from control_api.storage.types import BigIntPK, UTCDateTime, utcnow


class CreditEntry(Base):
    __tablename__ = "credit_ledger"
    __table_args__ = (Index("ix_credit_ledger_account_created", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # topup | reserve | release | charge
    amount: Mapped[int] = mapped_column(BigInteger)  # signed credits
    ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    call_id: Mapped[str | None] = mapped_column(String(36))
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
