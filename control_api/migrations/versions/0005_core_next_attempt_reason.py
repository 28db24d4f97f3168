"""leads: why a lead waits for its next attempt (a callback the lead asked for, a retry, the calling window)

Revision ID: 0005_core_next_attempt_reason
Revises: 0004_core_trust
Create Date: 2026-12-04 00:00:01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_core_next_attempt_reason"
down_revision: str | Sequence[str] | None = "0004_core_trust"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: PostgreSQL adds it without rewriting a table of millions of leads.
    op.add_column("leads", sa.Column("next_attempt_reason", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("next_attempt_reason")
