"""campaigns.policy (script | llm) and accounts.llm_profile (a named LLM endpoint an operator assigned)

Revision ID: 0007_core_campaign_policy
Revises: 0006_core_live_calls
Create Date: 2026-12-04 00:00:03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_core_campaign_policy"
down_revision: str | Sequence[str] | None = "0006_core_live_calls"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing campaigns keep the script policy they always ran with.
    op.add_column("campaigns", sa.Column("policy", sa.String(length=16), nullable=False, server_default="script"))
    op.add_column("accounts", sa.Column("llm_profile", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("llm_profile")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("policy")
