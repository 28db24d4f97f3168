"""leads: drop the foreign keys (a bulk upload pays each one per row)

Revision ID: 0002_core_lead_bulk
Revises: 0001_core
Create Date: 2026-11-28 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_core_lead_bulk"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.drop_constraint("fk_leads_account_id_accounts", type_="foreignkey")
        batch.drop_constraint("fk_leads_upload_id_lead_uploads", type_="foreignkey")
        batch.drop_constraint("fk_leads_campaign_id_campaigns", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.create_foreign_key("fk_leads_account_id_accounts", "accounts", ["account_id"], ["id"], ondelete="CASCADE")
        batch.create_foreign_key(
            "fk_leads_upload_id_lead_uploads", "lead_uploads", ["upload_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_foreign_key(
            "fk_leads_campaign_id_campaigns", "campaigns", ["campaign_id"], ["id"], ondelete="CASCADE"
        )
