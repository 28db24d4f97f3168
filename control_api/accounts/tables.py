"""Client accounts and their API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from control_api.storage.db import Base
from control_api.storage.types import ID, JsonType, UTCDateTime, utcnow

ROLES = ("client", "operator")
SCOPES = ("full", "read_only", "leads_upload")


class Account(Base):
    """A client, or the platform's own staff (``role`` operator, created only by ``closerr operator create``)."""

    __tablename__ = "accounts"
    # The database itself keeps one account per address whatever its case: two concurrent sign-ups cannot both
    # pass a check made before the insert.
    __table_args__ = (Index("uq_accounts_email_lower", func.lower("email"), unique=True),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    billing: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    registration_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    role: Mapped[str] = mapped_column(String(16), default="client", server_default="client")
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Signs this account's webhook deliveries; its own, so one client's secret cannot forge another's.
    webhook_secret: Mapped[str | None] = mapped_column(String(64))
    # The named LLM endpoint (CLOSERR_LLM_PROFILES) an operator assigned; None: the deployment's.
    llm_profile: Mapped[str | None] = mapped_column(String(32))


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
    scope: Mapped[str] = mapped_column(String(16), default="full", server_default="full")


class ConsoleSession(Base):
    """A console sign-in. The cookie carries only the id; signing out deletes the row, so a copied cookie stops
    working at once (a cookie-only session would stay valid until it expired)."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie's random token
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
