"""accounts: roles, suspension, a webhook secret each, e-mail unique whatever its case; key scopes; console
sessions held server-side; shared rate-limit counters

Revision ID: 0004_core_trust
Revises: 0003_core_lead_phone_key
Create Date: 2026-12-04 00:00:00
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from control_api.storage.types import UTCDateTime

revision: str = "0004_core_trust"
down_revision: str | Sequence[str] | None = "0003_core_lead_phone_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("role", sa.String(length=16), server_default="client", nullable=False))
        batch.add_column(sa.Column("suspended_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("webhook_secret", sa.String(length=64), nullable=True))
        batch.drop_constraint("uq_accounts_email", type_="unique")
    # Fails on a database already holding one address in two cases: those accounts need merging by hand first.
    op.create_index("uq_accounts_email_lower", "accounts", [sa.text("lower(email)")], unique=True)
    accounts = sa.table("accounts", sa.column("id", sa.String), sa.column("webhook_secret", sa.String))
    conn = op.get_bind()
    for (account_id,) in conn.execute(sa.select(accounts.c.id)).all():
        conn.execute(accounts.update().where(accounts.c.id == account_id).values(webhook_secret=secrets.token_hex(32)))
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("scope", sa.String(length=16), server_default="full", nullable=False))
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_console_sessions_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name=op.f("fk_console_sessions_key_id_api_keys"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
    )
    op.create_index(op.f("ix_console_sessions_account_id"), "console_sessions", ["account_id"], unique=False)
    op.create_index(op.f("ix_console_sessions_key_id"), "console_sessions", ["key_id"], unique=False)
    op.create_table(
        "rate_limit_windows",
        sa.Column("bucket", sa.String(length=200), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_rate_limit_windows")),
    )
    op.create_index(op.f("ix_rate_limit_windows_expires_at"), "rate_limit_windows", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_rate_limit_windows_expires_at"), table_name="rate_limit_windows")
    op.drop_table("rate_limit_windows")
    op.drop_index(op.f("ix_console_sessions_key_id"), table_name="console_sessions")
    op.drop_index(op.f("ix_console_sessions_account_id"), table_name="console_sessions")
    op.drop_table("console_sessions")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("scope")
    op.drop_index("uq_accounts_email_lower", table_name="accounts")
    with op.batch_alter_table("accounts") as batch:
        batch.create_unique_constraint("uq_accounts_email", ["email"])
        batch.drop_column("webhook_secret")
        batch.drop_column("suspended_at")
        batch.drop_column("role")
