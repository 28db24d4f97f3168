"""campaigns.recording: whether the campaign's calls are recorded ("on" | "off")

Revision ID: 0008_core_recordings
Revises: 0007_core_campaign_policy
Create Date: 2026-12-04 00:00:04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_core_recordings"
down_revision: str | Sequence[str] | None = "0007_core_campaign_policy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Campaigns made before recordings existed are not recorded: their greeting was never checked for the notice.
    # New campaigns get "on" from the API unless they ask otherwise.
    op.add_column("campaigns", sa.Column("recording", sa.String(length=3), server_default="off", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("recording")
