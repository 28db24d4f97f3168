"""dispatch_leases: the progress of each call in progress, published by its worker for live views in any process

Revision ID: 0006_core_live_calls
Revises: 0005_core_next_attempt_reason
Create Date: 2026-12-04 00:00:02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from control_api.storage.types import UTCDateTime

revision: str = "0006_core_live_calls"
down_revision: str | Sequence[str] | None = "0005_core_next_attempt_reason"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0500_dispatch"  # the lease table is the dispatch branch's


def upgrade() -> None:
    # Nullable, no default: added without rewriting the table, and a lease row lives only as long as its call.
    op.add_column("dispatch_leases", sa.Column("live_state", sa.String(length=16), nullable=True))
    op.add_column("dispatch_leases", sa.Column("live_turns", sa.Integer(), nullable=True))
    op.add_column("dispatch_leases", sa.Column("live_role", sa.String(length=8), nullable=True))
    op.add_column("dispatch_leases", sa.Column("live_text", sa.Text(), nullable=True))
    op.add_column("dispatch_leases", sa.Column("live_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dispatch_leases") as batch:
        for column in ("live_at", "live_text", "live_role", "live_turns", "live_state"):
            batch.drop_column(column)
