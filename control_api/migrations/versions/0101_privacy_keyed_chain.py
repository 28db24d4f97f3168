"""privacy branch: the audit chain head records from which entry on hashes are keyed (HMAC-SHA256)

Entries already in the log stay plain SHA-256 and verify as before; every entry appended after this revision is
keyed, and the verifier reports how many unkeyed entries remain.

Revision ID: 0101_privacy_keyed_chain
Revises: 0100_privacy
Create Date: 2026-12-04 17:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0101_privacy_keyed_chain"
down_revision: str | Sequence[str] | None = "0100_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_chain_head", sa.Column("keyed_from_seq", sa.BigInteger(), nullable=True))
    op.execute("UPDATE audit_chain_head SET keyed_from_seq = seq + 1")


def downgrade() -> None:
    with op.batch_alter_table("audit_chain_head") as batch:
        batch.drop_column("keyed_from_seq")
