"""leads: one unique index on (phone, campaign_id) instead of (campaign_id, phone) plus an index on phone

The unique key led with the 36-character campaign id, so every comparison inside it compared that text first
(all equal within a campaign) and a second index was needed to find a number across campaigns (access and
erasure requests). Led by the phone number, one index serves both: comparisons are mostly one integer, and an
upload maintains one random-order index per row instead of two.

Revision ID: 0003_core_lead_phone_key
Revises: 0002_core_lead_bulk
Create Date: 2026-11-29 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_core_lead_phone_key"
down_revision: str | Sequence[str] | None = "0002_core_lead_bulk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.drop_constraint("uq_leads_campaign_phone", type_="unique")
        batch.drop_index("ix_leads_phone")
        batch.create_unique_constraint("uq_leads_phone_campaign", ["phone", "campaign_id"])


def downgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.drop_constraint("uq_leads_phone_campaign", type_="unique")
        batch.create_unique_constraint("uq_leads_campaign_phone", ["campaign_id", "phone"])
        batch.create_index("ix_leads_phone", ["phone"], unique=False)
