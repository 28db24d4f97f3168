"""dispatch branch: leases, campaign dispatch facts, the credit ledger, the webhook outbox

Revision ID: 0500_dispatch
Revises:
Create Date: 2026-11-28 17:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from control_api.storage.types import UTCDateTime

revision: str = "0500_dispatch"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("dispatch",)
depends_on: str | Sequence[str] | None = "0001_core"

# Frozen here rather than imported, so later model changes never rewrite this revision.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "dispatch_leases",
        sa.Column("lead_id", sa.BigInteger(), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("worker_id", sa.String(length=100), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("leased_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_dispatch_leases_campaign_id_campaigns", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_dispatch_leases_account_id_accounts", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("lead_id", name="pk_dispatch_leases"),
        sa.UniqueConstraint("call_id", name="uq_dispatch_leases_call_id"),
    )
    op.create_index("ix_dispatch_leases_campaign_id", "dispatch_leases", ["campaign_id"])
    op.create_index("ix_dispatch_leases_account_id", "dispatch_leases", ["account_id"])
    op.create_index("ix_dispatch_leases_expires_at", "dispatch_leases", ["expires_at"])

    op.create_table(
        "campaign_dispatch",
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("paused_reason", sa.String(length=64), nullable=True),
        sa.Column("paused_at", UTCDateTime(), nullable=True),
        sa.Column("completion_notified", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_campaign_dispatch_campaign_id_campaigns", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("campaign_id", name="pk_campaign_dispatch"),
    )

    op.create_table(
        "credit_ledger",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=True),
        sa.Column("call_id", sa.String(length=36), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_credit_ledger_account_id_accounts", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_credit_ledger"),
        sa.UniqueConstraint("ref", name="uq_credit_ledger_ref"),
    )
    op.create_index("ix_credit_ledger_account_created", "credit_ledger", ["account_id", "created_at"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("failed_at", UTCDateTime(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_webhook_deliveries_account_id_accounts", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_webhook_deliveries_campaign_id_campaigns", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
    )
    op.create_index("ix_webhook_deliveries_account_id", "webhook_deliveries", ["account_id"])
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["delivered_at", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("credit_ledger")
    op.drop_table("campaign_dispatch")
    op.drop_table("dispatch_leases")
